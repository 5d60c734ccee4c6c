/**
 * What every script the product runs on a host or on the deployer shares: quoting, the one message
 * format, container labels, image tags and paths. Builders interpolate these, so a name changes in one
 * place only.
 */

/** Quotes a value for POSIX sh, so builders can embed any string as one word. */
export function shQuote(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** Labels on every container the product starts. */
export const LABELS = {
  /** The app the container runs. */
  app: "hcloud-deploy.app",
  /** The Pulumi resource (deployment) that started it. */
  instance: "hcloud-deploy.instance",
  /** Settings and env file it runs with. */
  revision: "hcloud-deploy.revision",
} as const;

/** Repository prefix of the tags images carry on hosts: `hcloud-deploy/<app>:<digest hex>`. */
export const HOST_TAG_PREFIX = "hcloud-deploy/";

/** The tag an image carries on the hosts: derived from the digest, so equal content means equal tag. */
export function hostTagOf(app: string, digestRef: string): string {
  const hex = /@sha256:([0-9a-f]{64})$/.exec(digestRef)?.[1];
  if (!hex) throw new Error(`"${digestRef}" is not a digest-pinned reference`);
  return `${HOST_TAG_PREFIX}${app}:${hex}`;
}

/** Where the product keeps things on hosts and on the deployer. */
export const PATHS = {
  /** Host: compressed image streams while they arrive (survives a reboot, unlike /tmp). */
  staging: "/var/tmp/hcloud-deploy",
  /** Host: per delivery, its receive script, relay key and status files (tmpfs: gone after a reboot). */
  control: "/run/hcloud-deploy",
  /** Host: the keys of host-to-host relays, each for one delivery and a forced receive command only. */
  relayKeys: "/root/.ssh/authorized_keys2",
  /** Host: per app and volume, the directory mounted into its containers (data: never removed by the product). */
  volumes: "/var/lib/hcloud-deploy/volumes",
  /** Host: per app, its env files (0600). */
  appConfig: "/etc/hcloud-deploy",
  /** Host: throwaway Docker client configs for registry logins, on tmpfs. */
  pullConfig: "/run/hcloud-deploy-pull",
  /** Host: lock between image loads/pulls (shared) and the dangling-image prune (exclusive), on tmpfs. */
  imageLock: "/run/hcloud-deploy.images.lock",
  /** Deployer: the private working directory of a delivery, under $TMPDIR. */
  deployerWork: "hcloud-deploy",
  /** Host: held while a script picks a container address or changes the proxy's config. */
  hostLock: "/run/hcloud-deploy.lock",
} as const;

/**
 * The host proxy: Caddy from the distribution's packages, configured only through its admin API on a
 * unix socket (never a TCP port). Its config changes are autosaved and `caddy run --resume` reloads them,
 * so the routes survive restarts. Tools (status, logs) read the same names.
 */
export const PROXY = {
  /** Caddy's admin API. Requests over it need an empty Host header (`curl -H 'Host: '`). */
  adminSocket: "/run/caddy/admin.sock",
  /** The config Caddy starts from when it has none autosaved yet (admin socket, TLS issuer, no routes). */
  baseConfig: "/etc/caddy/hcloud-deploy.json",
  /** systemd drop-in that runs the packaged caddy.service with --resume on the base config. */
  unitDropIn: "/etc/systemd/system/caddy.service.d/hcloud-deploy.conf",
  /** The server on :443 (and :80 for redirects) that every app with domains shares (app names have no dot). */
  httpsServer: "hcloud-deploy.https",
} as const;

/** Names of one app's objects in the proxy's config. */
export function proxyNames(app: string) {
  return {
    /** Key of the app's own server under apps.http.servers (apps without domains). */
    server: `hcloud-deploy-${app}`,
    /** `@id` of the app's route: its listener or host matcher and its handler. */
    route: `hcloud-deploy-${app}`,
    /** `@id` of the app's reverse_proxy handler: PATCH /id/<this>/upstreams switches versions. */
    upstream: `hcloud-deploy-${app}-proxy`,
  };
}

/**
 * The Docker network apps run on, one per host: apps publish no host ports, only the proxy reaches them.
 * Containers get a fixed IPv4 address on it (the proxy's upstream survives restarts) and a ULA IPv6
 * address, NATed to the host's address on the way out.
 */
export const APP_NETWORK = {
  name: "hcloud-deploy",
  bridge: "hcd0",
  ipv4Subnet: "172.30.0.0/24",
  /** The host's address on it (Docker gives a bridge network's first address to the host). */
  ipv4Gateway: "172.30.0.1",
  ipv6Subnet: "fd68:6364::/64",
} as const;

/** One app's image on one host: what every delivery stage talks about. */
export interface HostImage {
  readonly app: string;
  readonly hostName: string;
  /** Tag the image carries on the host, derived from its digest (see hostTagOf). */
  readonly hostTag: string;
}

/** The start of every line the product prints about one app on one host. */
export function messagePrefix(app: string, hostName: string): string {
  return `hcloud-deploy: ${app} on ${hostName}: `;
}

/**
 * Shell line defining `say`, which prints `hcloud-deploy: <app> on <host>: <message>`. Takes shell words
 * (a quoted value, or "$var" where the script keeps the name in a variable).
 */
export function sayFunction(appWord: string, hostWord: string): string {
  return `say() { printf 'hcloud-deploy: %s on %s: %s\\n' ${appWord} ${hostWord} "$*"; }`;
}

/** Shell line defining `fail`: says its message on stderr and exits 1 (needs `say`). */
export const FAIL_FUNCTION = `fail() { say "$*" >&2; exit 1; }`;

/** sh: sets $docker_root to the directory Docker keeps images in, as the engine reports it. */
export const DOCKER_ROOT = `docker_root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)`;

/**
 * sh (needs `say`): `image_disk_full DOING DONE` prints the one line for a full image disk, with the
 * space left there, e.g. `image_disk_full loading loaded`.
 */
export const IMAGE_DISK_FULL_FUNCTION = `image_disk_full() {
  ${DOCKER_ROOT}
  say "disk full on the host while $1 the image ($(df -Pm "$docker_root" | awk 'NR == 2 { print $4 }') MiB free in $docker_root); the image was not $2" >&2
}`;

/**
 * Shell lines (sh) that take the shared side of the host's image lock: image loads and pulls hold it
 * until the image carries its tag, so a concurrent dangling-image prune cannot take an image that is
 * still untagged. Released when the script exits.
 */
export const SHARED_IMAGE_LOCK = `exec 9>${PATHS.imageLock}
flock -s 9`;
