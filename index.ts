import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { CiSetup } from "./components/ci";
import { loadConfig } from "./components/config";
import { Delivery } from "./components/delivery";
import { HetznerHost } from "./components/host";
import { AppImage } from "./components/image";
import { Service } from "./components/service";

const config = loadConfig();
const labels = { project: config.project, stack: config.stack };

// One deployer key per stack: Hetzner refuses the same public key twice in a project.
const sshKey = new hcloud.SshKey("deployer", {
  name: `${config.project}-${config.stack}`,
  publicKey: config.sshPublicKey,
  labels,
});

// Hosts: one IPv6-only server each, ready for containers once its readiness gate passes.
const hosts = new Map(
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

// Apps: one image each, then per host a delivery (tarball or registry pull) and a health-gated service.
const apps = config.apps.map((app) => {
  const image = new AppImage(app.name, {
    app: app.name,
    source: app.source,
    registry: config.registry,
    pushToken: config.secrets.registryPushToken,
  });
  const services = app.hosts.map((hostName) => {
    const host = hosts.get(hostName) as HetznerHost;
    const name = `${app.name}-on-${hostName}`;
    const delivery = new Delivery(`${name}-delivery`, {
      app: app.name,
      hostName,
      host,
      mode: app.delivery,
      imageRef: image.ref,
      hostTag: image.hostTag,
      registry: config.registry,
      sshPrivateKey: config.secrets.sshPrivateKey,
      pullToken: config.secrets.registryPullToken,
    });
    return new Service(`${name}-service`, {
      app,
      hostName,
      host,
      imageRef: image.ref,
      hostTag: image.hostTag,
      delivery,
      secretEnv: config.secrets.appSecrets.apply((all) => all[app.name] ?? {}),
    });
  });
  return { name: app.name, image, urls: pulumi.all(services.map((s) => s.url)) };
});

// CI (opt-in, in one stack only): Actions secrets and variables, the production environment with its
// reviewers, and branch protection on main requiring the checks of .github/workflows/pull-request.yml.
if (config.ci.enabled && config.secrets.ci) {
  new CiSetup("ci", {
    ci: config.ci,
    githubToken: config.secrets.ci.githubToken,
    secretValues: config.secrets.ci.actionsSecrets,
  });
}

export const hostAddresses = Object.fromEntries([...hosts].map(([name, h]) => [name, h.ipv6Address]));
export const serverIds = Object.fromEntries([...hosts].map(([name, h]) => [name, h.serverId]));
/** Per app: the digest-pinned image it runs (read by the rollback command) and where it answers. */
export const appImages = Object.fromEntries(apps.map((a) => [a.name, a.image.ref]));
export const appUrls = Object.fromEntries(apps.map((a) => [a.name, a.urls]));
