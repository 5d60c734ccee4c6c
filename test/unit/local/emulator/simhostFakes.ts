import { stringify } from "yaml";
import type { SimHost, SimHostSpec } from "../../../../local/simhost";
import { findServerType } from "../../../../local/emulator/catalog";
import { HostSpec } from "../../../../local/emulator/hostBackend";

/** A server as the emulator hands it to SimHostBackend, and a host starter that starts nothing. */

export const HOST_KEY = {
  privateKey:
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey",
};

export function server(
  document: Record<string, unknown>,
  id = 4001,
  serverType = "cx23",
  image = "debian-13",
): HostSpec {
  const architecture = findServerType(serverType)?.architecture;
  if (architecture === undefined) throw new Error(`no server type ${serverType} in the catalog`);
  return {
    id,
    name: "web-1-7a6b5c4",
    architecture,
    image,
    address: "fd5e:0:0:1::1",
    prefixLength: 64,
    userData: `#cloud-config\n${stringify(document)}`,
    authorizedKeys: ["ssh-ed25519 AAAA deployer"],
  };
}

export const VALID = {
  ssh_pwauth: false,
  packages: ["docker.io"],
  ssh_keys: { ed25519_private: HOST_KEY.privateKey, ed25519_public: HOST_KEY.publicKey },
  ssh_authorized_keys: ["ssh-ed25519 BBBB ops", "ssh-ed25519 AAAA deployer"],
};

/** Records specs, stops and disk links instead of creating namespaces. */
export function fakeStarter(): {
  start: (spec: SimHostSpec) => Promise<SimHost>;
  started: SimHostSpec[];
  stopped: string[];
  disks: string[];
} {
  const started: SimHostSpec[] = [];
  const stopped: string[] = [];
  const disks: string[] = [];
  const start = async (spec: SimHostSpec): Promise<SimHost> => {
    started.push(spec);
    return {
      name: spec.name,
      netns: `hcd-${spec.name}`,
      address: spec.address,
      architecture: spec.architecture ?? "amd64",
      release: spec.release ?? "trixie",
      dockerHost: `unix:///x/${spec.name}/docker.sock`,
      gateway: "fd5e:ffff::1",
      exec: async () => ({ stdout: "", stderr: "", code: 0 }),
      reboot: async () => undefined,
      attachDisk: async (name, device) => {
        disks.push(`${spec.name} attach ${name} ${device}`);
      },
      detachDisk: async (name) => {
        disks.push(`${spec.name} detach ${name}`);
      },
      stop: async () => {
        stopped.push(spec.name);
      },
    };
  };
  return { start, started, stopped, disks };
}
