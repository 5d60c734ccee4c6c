// Another project's Pulumi program: one IPv6-only host serving one prebuilt image.
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { AppImage, Delivery, HetznerHost, Service } from "../../components";

const config = new pulumi.Config();
const deployer = new hcloud.SshKey("deployer", { publicKey: config.require("sshPublicKey") });

const host = new HetznerHost("web-1", {
  location: "fsn1",
  serverName: "web-1",
  sshKeyId: deployer.id,
  sshPrivateKey: config.requireSecret("sshPrivateKey"),
  sshAllowedCidrs: ["2001:db8::/32"],
  openPorts: [80],
});

const registry = { server: "ghcr.io", namespace: "example-org", username: "example-bot" };
const image = new AppImage("hello", {
  app: "hello",
  source: { kind: "prebuilt", ref: config.require("helloImage") },
  registry,
});

// The image goes to the host as a tarball over SSH: the host never holds a registry credential.
const delivery = new Delivery("hello-on-web-1", {
  app: "hello",
  target: host,
  imageRef: image.ref,
  registry,
});
const service = new Service("hello-on-web-1-service", {
  delivery,
  settings: {
    port: 8080,
    hostPort: 80,
    health: { path: "/healthz", timeoutSeconds: 30, intervalSeconds: 2 },
  },
});

export const url = service.url;
