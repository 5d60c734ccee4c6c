import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { AppImage, CiSetup, Delivery, DeliveryFanOut, HetznerHost, Service } from "./components";
import { loadConfig } from "./config/loader";

const config = loadConfig();
const labels = { project: config.project, stack: config.stack };

// One deployer key per stack: Hetzner refuses the same public key twice in a project.
const sshKey = new hcloud.SshKey("deployer", {
  name: `${config.project}-${config.stack}`,
  publicKey: config.sshPublicKey,
  labels,
});

// Hosts: one IPv6-only server each, ready for containers once its readiness gate passes. Each lets the
// others reach its SSH (the relays of a delivery): their networks are known once all primary IPs exist.
const [hostNetworks, resolveHostNetworks] = pulumi.deferredOutput<Record<string, string>>();
const hosts = new Map(
  config.hosts.map(({ name, ...host }) => [
    name,
    new HetznerHost(name, {
      ...host,
      serverName: `${name}-${config.stack}`,
      sshKeyId: sshKey.id,
      sshPrivateKey: config.secrets.sshPrivateKey,
      sshAllowedCidrs: config.sshAllowedCidrs,
      peerSshSources: hostNetworks.apply((all) =>
        Object.entries(all)
          .filter(([other]) => other !== name)
          .map(([, network]) => network),
      ),
      openPorts: config.apps.filter((a) => a.hosts.includes(name)).map((a) => a.hostPort),
      replacementPolicy: config.hostReplacement,
      readinessTimeoutSeconds: config.readinessTimeoutSeconds,
      labels,
    }),
  ]),
);

resolveHostNetworks(pulumi.all(Object.fromEntries([...hosts].map(([name, h]) => [name, h.ipv6Network]))));

// Apps: one image each, then per host a delivery (tarball or registry pull) and a health-gated service.
// A tarball app on several hosts first goes to all of them at once (each new byte over the deployer's
// uplink once); each host's own delivery then finds its image there, or sends directly what is missing.
const apps = config.apps.map((app) => {
  const image = new AppImage(app.name, {
    app: app.name,
    source: app.source,
    registry: config.registry,
    pushToken: config.secrets.registryPushToken,
  });
  const secretEnv = config.secrets.appSecrets.apply((all) =>
    Object.fromEntries(app.secretEnv.map((name) => [name, all[app.name][name]])),
  );
  const appHosts = app.hosts.map((hostName) => hosts.get(hostName) as HetznerHost);
  const fanOut =
    app.delivery === "tarball" && appHosts.length > 1
      ? new DeliveryFanOut(`${app.name}-fan-out`, {
          app: app.name,
          targets: appHosts,
          imageRef: image.ref,
          registry: config.registry,
          pullToken: config.secrets.registryPullToken,
          parallelism: config.deliveryParallelism,
          dependsOn: appHosts.map((h) => h.firewall),
        })
      : undefined;
  const services = app.hosts.map((hostName) => {
    const name = `${app.name}-on-${hostName}`;
    const delivery = new Delivery(`${name}-delivery`, {
      app: app.name,
      target: hosts.get(hostName) as HetznerHost,
      imageRef: image.ref,
      mode: app.delivery,
      registry: config.registry,
      pullToken: config.secrets.registryPullToken,
      after: fanOut,
    });
    return new Service(`${name}-service`, { delivery, settings: app, secretEnv });
  });
  return { name: app.name, image, urls: pulumi.all(services.map((s) => s.url)) };
});

// CI (opt-in, in one stack only): Actions secrets and variables, the production environment with its
// reviewers, and branch protection on main requiring the checks of .github/workflows/pull-request.yml.
if (config.ci.enabled && config.secrets.ci) {
  new CiSetup("ci", {
    owner: config.ci.owner,
    repository: config.ci.repository,
    reviewers: config.ci.reviewers,
    githubToken: config.secrets.ci.githubToken,
    secrets: config.secrets.ci.actionsSecrets,
    variables: config.ci.variables,
  });
}

export const hostAddresses = Object.fromEntries([...hosts].map(([name, h]) => [name, h.address]));
export const serverIds = Object.fromEntries([...hosts].map(([name, h]) => [name, h.serverId]));
/** Per app: the digest-pinned image it runs (read by the rollback command) and where it answers. */
export const appImages = Object.fromEntries(apps.map((a) => [a.name, a.image.ref]));
export const appUrls = Object.fromEntries(apps.map((a) => [a.name, a.urls]));
