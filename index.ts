import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import {
  AppImage,
  AppJob,
  CiSetup,
  Delivery,
  DeliveryFanOut,
  HetznerHost,
  HostVolume,
  LoadBalancer,
  NETWORK_ZONES,
  PrivateNetwork,
  ReleaseCommand,
  Service,
} from "./components";
import type { ImageSource } from "./components";
import { httpPathOf } from "./components/service";
import { Platform, platformsOf, platformSuffix } from "./components/platforms";
import { checkoutSources } from "./config/gitSource";
import { loadConfig } from "./config/loader";
import { hostSpecsOutput, planHosts } from "./config/hostSpecs";
import { internalHostsOf, privateNetworkZones } from "./config/internalNames";
import { runPreflight } from "./config/preflightRun";
import { readPreviousDeployment } from "./config/previous";
import { checkVolumeSizes, volumeSizesOutput } from "./config/volumeSizes";
import { droppedRoutes, firewallPorts, hostDomains } from "./config/serving";

/** The program: an async function, so the preflight runs before any resource is registered. */
export = async () => {
  const config = loadConfig();
  // What each host's server is (kept from the last deployment unless the stack names it or bumps its
  // generation), checked against the live catalog before anything is created.
  const previous = await readPreviousDeployment();
  const plans = planHosts(config.hosts, previous);
  checkVolumeSizes(config.apps, previous);
  for (const warning of droppedRoutes(config.apps, previous.servedPorts)) void pulumi.log.warn(warning);
  const { platforms, prebuiltRefs } = await runPreflight({
    plans,
    apps: config.apps,
    catalogAccess: config.catalogAccess,
    registryAccess: config.registryAccess,
  });
  // Apps built from a commit of another repository: fetched before anything is created, so a commit the
  // repository lacks stops the deployment before anything rolls.
  const checkouts = checkoutSources(config.apps, config.sourceAccess.token, process.cwd(), (line) =>
    pulumi.log.info(line),
  );
  const labels = { project: config.project, stack: config.stack };

  // One deployer key per stack: Hetzner refuses the same public key twice in a project.
  const sshKey = new hcloud.SshKey("deployer", {
    name: `${config.project}-${config.stack}`,
    publicKey: config.sshPublicKey,
    labels,
  });

  // The stack's private network (two hosts or more): apps reach the other hosts' apps over it as
  // <app>.internal, never over the public internet.
  const zones = privateNetworkZones(config.hosts);
  const privateNetwork =
    zones.length > 0
      ? new PrivateNetwork("private", { zones, ipRange: config.privateNetwork, labels })
      : undefined;

  // Hosts: one IPv6-only server each, ready for containers once its readiness gate passes and its proxy runs.
  // Each lets the others reach its SSH (the relays of a delivery): their networks are known once all primary
  // IPs exist.
  const [hostNetworks, resolveHostNetworks] = pulumi.deferredOutput<Record<string, string>>();
  const hosts = new Map(
    config.hosts.map(({ name, ...host }, i) => [
      name,
      new HetznerHost(name, {
        ...host,
        serverType: plans[i].serverType,
        image: plans[i].image,
        serverName: `${name}-${config.stack}`,
        sshKeyId: sshKey.id,
        sshPrivateKey: config.secrets.sshPrivateKey,
        sshAllowedCidrs: config.sshAllowedCidrs,
        peerSshSources: hostNetworks.apply((all) =>
          Object.entries(all)
            .filter(([other]) => other !== name)
            .map(([, network]) => network),
        ),
        openPorts: [
          ...new Set(config.apps.filter((a) => a.hosts.includes(name)).flatMap((a) => firewallPorts(a))),
        ],
        tls: config.tls,
        replacementPolicy: config.hostReplacement,
        readinessTimeoutSeconds: config.readinessTimeoutSeconds,
        labels,
        privateSubnetId: privateNetwork?.subnetIds[NETWORK_ZONES[host.location]],
      }),
    ]),
  );
  const privateIps = pulumi.all(Object.fromEntries([...hosts].map(([name, h]) => [name, h.privateIp])));

  resolveHostNetworks(pulumi.all(Object.fromEntries([...hosts].map(([name, h]) => [name, h.ipv6Network]))));

  // Apps: one image each (one per platform its hosts run), then per host a delivery of its platform's image
  // (tarball or registry pull) and a health-gated service. A tarball app on several hosts of a platform
  // first goes to all of them at once (each new byte over the deployer's uplink once); each host's own
  // delivery then finds its image there, or sends directly what is missing.
  // Services roll across the app's hosts, hostsAtOnce at a time, in host order: each waits for the one
  // hostsAtOnce places before it, so a failure leaves the later hosts untouched.
  // Per app, its services: an app with `after` waits for those of the apps it names (listed before it).
  const servicesOf = new Map<string, { service: Service }[]>();
  const apps = config.apps.map((app) => {
    const first = app.after.flatMap((other) => (servicesOf.get(other) ?? []).map((s) => s.service));
    // One image per platform the app's hosts run; each host gets its own platform's.
    const image = new AppImage(app.name, {
      app: app.name,
      source: checkouts[app.name]?.source ?? (app.source as ImageSource),
      ...(checkouts[app.name] ? { tag: `${checkouts[app.name].revision}-${pulumi.getStack()}` } : {}),
      registry: config.registry,
      pushToken: config.secrets.registryPushToken,
      platforms: app.hosts.map((h) => platforms[h]),
      prebuiltRefs: prebuiltRefs[app.name],
    });
    const secretEnv = config.secrets.appSecrets.apply((all) =>
      Object.fromEntries(app.secretEnv.map((name) => [name, all[app.name][name]])),
    );
    const fanOuts = new Map<Platform, DeliveryFanOut>();
    for (const platform of platformsOf(app.hosts.map((h) => platforms[h]))) {
      const targets = app.hosts
        .filter((h) => platforms[h] === platform)
        .map((h) => hosts.get(h) as HetznerHost);
      if (app.delivery !== "tarball" || targets.length < 2) continue;
      const fanOut = new DeliveryFanOut(`${app.name}-fan-out${platformSuffix(platform)}`, {
        app: app.name,
        targets,
        imageRef: image.platformRefs[platform] as pulumi.Output<string>,
        platform,
        registry: config.registry,
        pullToken: config.secrets.registryPullToken,
        parallelism: config.deliveryParallelism,
        dependsOn: targets.map((h) => h.firewall),
      });
      fanOuts.set(platform, fanOut);
    }
    const deliveries = app.hosts.map(
      (hostName) =>
        new Delivery(`${app.name}-on-${hostName}-delivery`, {
          app: app.name,
          target: hosts.get(hostName) as HetznerHost,
          imageRef: image.platformRefs[platforms[hostName]] as pulumi.Output<string>,
          mode: app.delivery,
          platform: platforms[hostName],
          registry: config.registry,
          pullToken: config.secrets.registryPullToken,
          after: fanOuts.get(platforms[hostName]),
        }),
    );
    // Hetzner Volumes (an app with one may have one host only), mounted before anything runs from them.
    const volumes = app.volumes.flatMap((v) =>
      v.size === undefined
        ? []
        : [
            new HostVolume(`${app.name}-${v.name}-volume`, {
              app: app.name,
              volume: v.name,
              sizeGb: v.size,
              location: config.hosts.find((h) => h.name === app.hosts[0])!.location,
              target: hosts.get(app.hosts[0]) as HetznerHost,
              deleteData: config.deleteData,
              labels,
            }),
          ],
    );
    // The release command (a migration) runs once per new image on the first host, before any host rolls.
    const release = app.release
      ? new ReleaseCommand(
          `${app.name}-release`,
          {
            delivery: deliveries[0],
            command: app.release.command,
            timeoutSeconds: app.release.timeoutSeconds,
            env: app.env,
            secretEnv,
            memory: app.memory,
            cpus: app.cpus,
            volumes: app.volumes,
          },
          volumes.length > 0 || first.length > 0 ? { dependsOn: [...volumes, ...first] } : undefined,
        )
      : undefined;
    const services: { hostName: string; delivery: Delivery; service: Service }[] = [];
    servicesOf.set(app.name, services);
    for (const [i, hostName] of app.hosts.entries()) {
      const delivery = deliveries[i];
      const before = services[i - app.rollout.hostsAtOnce]?.service;
      const settings = {
        ...app,
        domains: hostDomains(app),
        drainSeconds: app.rollout.drainSeconds,
        keepImages: config.keepImages,
      };
      const dependsOn = [before, release, ...volumes, ...(release ? [] : first)].filter(
        (r): r is Service | ReleaseCommand | HostVolume => r !== undefined,
      );
      const internalHosts = privateIps.apply((ips) =>
        internalHostsOf(app.name, hostName, config.apps, config.hosts, ips),
      );
      const service = new Service(
        `${app.name}-on-${hostName}-service`,
        { delivery, settings, secretEnv, internalHosts },
        dependsOn.length > 0 ? { dependsOn } : undefined,
      );
      services.push({ hostName, delivery, service });
    }
    // Jobs run on the app's first host, once the app is there to be copied.
    for (const job of app.jobs) {
      new AppJob(
        `${app.name}-job-${job.name}`,
        {
          target: hosts.get(app.hosts[0]) as HetznerHost,
          app: app.name,
          job: job.name,
          calendar: job.calendar,
          command: job.command,
          timeoutSeconds: job.timeoutSeconds,
        },
        { dependsOn: [services[0].service] },
      );
    }
    const endpoints = services.map(({ hostName, service }) => ({
      host: hostName,
      url: service.url,
      address: hosts.get(hostName)!.address,
      // Only the stack's hosts reach it there (public: false); left out otherwise, as before.
      ...(app.public ? {} : { public: false }),
    }));
    return { app, image, services, urls: pulumi.all(services.map((s) => s.service.url)), endpoints };
  });

  // Load balancers (opt-in per app): one address for all of an app's hosts, reaching them over a private
  // network, because Hetzner load balancers cannot reach IPv6-only targets.
  const loadBalancers = config.apps.flatMap((app) =>
    app.loadBalancer
      ? [
          {
            app: app.name,
            lb: new LoadBalancer(`${app.name}-lb`, {
              location: app.loadBalancer.location,
              type: app.loadBalancer.type,
              targets: app.hosts.map((h) => hosts.get(h) as HetznerHost),
              // The loader gives every load-balanced app a hostPort (its port by default).
              targetPort: app.hostPort ?? app.port,
              // The load balancer checks over HTTP; an app with a tcp or command check is asked for `/`.
              health: { path: httpPathOf(app.health) ?? "/" },
              domains: app.domains,
              network: app.loadBalancer.network,
              labels,
            }),
          },
        ]
      : [],
  );

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

  const hostAddresses = Object.fromEntries([...hosts].map(([name, h]) => [name, h.address]));
  const serverIds = Object.fromEntries([...hosts].map(([name, h]) => [name, h.serverId]));
  /** Per host: its address in the stack's private network (none with one host). */
  const hostPrivateIps = privateNetwork ? privateIps : {};
  /** Per app: the digest-pinned image it runs (read by the rollback command) and where it answers. */
  const appImages = Object.fromEntries(apps.map((a) => [a.app.name, a.image.ref]));
  const appUrls = Object.fromEntries(apps.map((a) => [a.app.name, a.urls]));
  /** Per load-balanced app: the load balancer's public addresses and where clients reach the app. */
  const appLoadBalancers = Object.fromEntries(
    loadBalancers.map(({ app, lb }) => [app, { ipv4: lb.ipv4, ipv6: lb.ipv6, url: lb.url }]),
  );
  /** Per app and host: the URL and the host's address (an https URL is reached at that address). */
  const appEndpoints = Object.fromEntries(apps.map((a) => [a.app.name, a.endpoints]));
  /** Per host: the root certificate of its proxy's internal CA (tls.issuer internal), for clients to trust. */
  const proxyCaCertificates = Object.fromEntries([...hosts].map(([name, h]) => [name, h.proxyCaCertificate]));
  /** The pinned SSH host key of every host, for the deployer's day-2 commands (status, logs). */
  const hostKeys = Object.fromEntries([...hosts].map(([name, h]) => [name, h.hostKey]));
  /**
   * Per host, per app: what the host should run (read by `npm run status`, which compares it with the
   * host, and by `--repair`, which replaces the children of the URNs named here).
   */
  const hostApps = Object.fromEntries(
    config.hosts.map((host) => [
      host.name,
      Object.fromEntries(
        apps.flatMap(({ app, image, services }) =>
          services
            .filter((s) => s.hostName === host.name)
            .map((s) => [
              app.name,
              {
                image: image.platformRefs[platforms[host.name]],
                // Left out for an app without a route (the apps' network only).
                ...(app.hostPort !== undefined ? { hostPort: app.hostPort } : {}),
                domains: hostDomains(app),
                healthPath: httpPathOf(app.health) ?? "/",
                service: s.service.urn,
                delivery: s.delivery.urn,
                // Left out for one container, so the outputs of stacks without replicas stay as they were.
                ...(app.replicas > 1 ? { replicas: app.replicas } : {}),
                // Left out without volumes, so the outputs of stacks without them stay as they were.
                ...(app.volumes.length > 0
                  ? { volumes: app.volumes.map(({ name, size }) => ({ name, size })) }
                  : {}),
                // The jobs the host runs (on the app's first host); left out without any.
                ...(app.jobs.length > 0 && app.hosts[0] === host.name
                  ? { jobs: app.jobs.map((j) => ({ name: j.name, schedule: j.schedule })) }
                  : {}),
              },
            ]),
        ),
      ),
    ]),
  );

  // The stack outputs; hostSpecs is what the next deployment keeps for each host.
  const hostSpecs = hostSpecsOutput(plans);
  return {
    hostAddresses,
    serverIds,
    hostPrivateIps,
    hostSpecs,
    /** GB per Hetzner Volume (`<app>/<volume>`): the next deployment refuses to shrink one. */
    volumeSizes: volumeSizesOutput(config.apps),
    /** Per host: the platform its images are built and delivered for (`linux/arm64` on cax types). */
    hostPlatforms: platforms,
    appImages,
    appUrls,
    appLoadBalancers,
    appEndpoints,
    proxyCaCertificates,
    hostKeys,
    hostApps,
  };
};
