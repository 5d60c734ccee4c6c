import { tarballDeliveryScript } from "../components/shell/tarball";
import { generateEd25519KeyPair } from "../components/sshKeys";
const k = generateEd25519KeyPair("x").publicKey;
const s = tarballDeliveryScript({app:"web",hostTag:"web-abc",imageRef:"registry.hcd.test:5000/o/web@sha256:"+"a".repeat(64),hosts:[{hostName:"h1",target:{address:"fd00::1",port:22,user:"root",hostKey:k}}],registry:{server:"registry.hcd.test:5000",username:"u",insecure:true}});
process.stdout.write(s);
