import * as hcloud from "@pulumi/hcloud";
import { loadConfig } from "./components/config";
import { HetznerHost } from "./components/host";

const config = loadConfig();
const labels = { project: config.project, stack: config.stack };

// One deployer key per stack: Hetzner refuses the same public key twice in a project.
const sshKey = new hcloud.SshKey("deployer", {
  name: `${config.project}-${config.stack}`,
  publicKey: config.sshPublicKey,
  labels,
});

// Hosts: one IPv6-only server each, ready for containers once its readiness gate passes.
const hosts = Object.fromEntries(
  config.hosts.map((host) => [
    host.name,
    new HetznerHost(host.name, {
      host,
      serverName: `${host.name}-${config.stack}`,
      sshKeyId: sshKey.id,
      sshPrivateKey: config.secrets.sshPrivateKey,
      sshAllowedCidrs: config.sshAllowedCidrs,
      openPorts: config.apps.filter((a) => a.hosts.includes(host.name)).map((a) => a.hostPort),
      replacementPolicy: config.hostReplacement,
      readinessTimeoutSeconds: config.readinessTimeoutSeconds,
      labels,
    }),
  ]),
);

export const hostAddresses = Object.fromEntries(
  Object.entries(hosts).map(([name, h]) => [name, h.ipv6Address]),
);
export const serverIds = Object.fromEntries(Object.entries(hosts).map(([name, h]) => [name, h.serverId]));
