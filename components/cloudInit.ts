import { stringify } from "yaml";
import type { ProxyTls } from "./shell/caddy";
import { hostFiles } from "./shell/proxy";

export interface CloudInitArgs {
  /** Pinned sshd host key: the deployer verifies every connection against its public half. */
  readonly hostKey: { readonly publicKey: string; readonly privateKey: string };
  /** Written into the document, so bumping it changes the user data (see docs/hosts.md, "Replacing hosts"). */
  readonly generation: number;
  /** DNS64 resolvers; empty leaves the image's resolver configuration alone. */
  readonly dns64Servers: readonly string[];
  /** How the host proxy gets certificates (its base config is written before caddy is installed). */
  readonly tls: ProxyTls;
}

/** Packages from the distribution's own mirrors, which Hetzner serves over IPv6. */
export const HOST_PACKAGES = ["docker.io", "caddy", "unattended-upgrades", "curl", "zstd", "ca-certificates"];

const SSHD_HARDENING = [
  "PasswordAuthentication no",
  "KbdInteractiveAuthentication no",
  "PermitRootLogin prohibit-password",
  "",
].join("\n");

const AUTO_UPGRADES = [
  'APT::Periodic::Update-Package-Lists "1";',
  'APT::Periodic::Unattended-Upgrade "1";',
  "",
].join("\n");

/**
 * Renders the cloud-config user data of a host. Pure: the same inputs give the same document byte for
 * byte, because Hetzner replaces a server whenever its user data changes.
 */
export function renderCloudInit(args: CloudInitArgs): string {
  const writeFiles = [
    { path: "/etc/ssh/sshd_config.d/50-hcloud-deploy.conf", permissions: "0644", content: SSHD_HARDENING },
    { path: "/etc/apt/apt.conf.d/20auto-upgrades", permissions: "0644", content: AUTO_UPGRADES },
    // Docker's settings, and caddy's unit drop-in and base config, in place before the packages start them.
    ...hostFiles(args.tls),
  ];
  if (args.dns64Servers.length > 0) {
    writeFiles.push({
      path: "/etc/resolv.conf",
      permissions: "0644",
      content: args.dns64Servers.map((s) => `nameserver ${s}\n`).join(""),
    });
  }
  const document = {
    ssh_pwauth: false,
    disable_root: false,
    // Replace the image's host keys with the pinned one before sshd first answers.
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: {
      ed25519_private: args.hostKey.privateKey,
      ed25519_public: args.hostKey.publicKey,
    },
    package_update: true,
    packages: HOST_PACKAGES,
    write_files: writeFiles,
    runcmd: [
      ["systemctl", "restart", "ssh"],
      ["systemctl", "enable", "--now", "docker"],
    ],
  };
  return `#cloud-config\n# hcloud-deploy generation ${args.generation}\n${stringify(document, { lineWidth: 0 })}`;
}
