import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { AppImage, CiSetup, Delivery, HetznerHost, Service } from "./components";
import { loadConfig } from "./config/loader";

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
  config.hosts.map(({ name, ...host }) => [
    name,
    new HetznerHost(name, {
      ...host,
      serverName: `${name}-${config.stack}`,
      sshKeyId: sshKey.id,
      sshPrivateKey: config.secrets.sshPrivateKey,
      sshAllowedCidrs: config.sshAllowedCidrs,
      openPorts: config.apps.filter((a) => a.hosts.includes(name)).map((a) => a.hostPort),
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
  const secretEnv = config.secrets.appSecrets.apply((all) =>
    Object.fromEntries(app.secretEnv.map((name) => [name, all[app.name][name]])),
  );
  const services = app.hosts.map((hostName) => {
    const name = `${app.name}-on-${hostName}`;
    const delivery = new Delivery(`${name}-delivery`, {
      app: app.name,
      target: hosts.get(hostName) as HetznerHost,
      imageRef: image.ref,
      mode: app.delivery,
      registry: config.registry,
      pullToken: config.secrets.registryPullToken,
    });
    const service = new Service(`${name}-service`, {
      delivery,
      settings: { ...app, keepImages: config.keepImages },
      secretEnv,
    });
    return { hostName, delivery, service };
  });
  return { app, image, services, urls: pulumi.all(services.map((s) => s.service.url)) };
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
export const appImages = Object.fromEntries(apps.map((a) => [a.app.name, a.image.ref]));
export const appUrls = Object.fromEntries(apps.map((a) => [a.app.name, a.urls]));
/** The pinned SSH host key of every host, for the deployer's day-2 commands (status, logs). */
export const hostKeys = Object.fromEntries([...hosts].map(([name, h]) => [name, h.hostKey]));
/**
 * Per host, per app: what the host should run (read by `npm run status`, which compares it with the
 * host, and by `--repair`, which replaces the children of the URNs named here).
 */
export const hostApps = Object.fromEntries(
  config.hosts.map((host) => [
    host.name,
    Object.fromEntries(
      apps.flatMap(({ app, image, services }) =>
        services
          .filter((s) => s.hostName === host.name)
          .map((s) => [
            app.name,
            {
              image: image.ref,
              hostPort: app.hostPort,
              healthPath: app.health.path,
              service: s.service.urn,
              delivery: s.delivery.urn,
            },
          ]),
      ),
    ),
  ]),
);
