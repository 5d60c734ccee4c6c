/**
 * The vocabulary of stack config that needs no Pulumi SDK: key names, the patterns of app names and
 * image references, and the defaults no component owns. Command-line scripts read stack files with it.
 */

/** The project's config namespace: every key the program reads is `hcloud-deploy:<name>`. */
export const PROJECT = "hcloud-deploy";

/** Every key of the namespace, as Pulumi.yaml declares them (a unit test keeps the two in step). */
export const CONFIG_KEYS = [
  "hosts",
  "apps",
  "registry",
  "imagePins",
  "sshPublicKey",
  "sshPrivateKey",
  "sshAllowedCidrs",
  "hostReplacement",
  "readinessTimeoutSeconds",
  "deliveryParallelism",
  "rollout",
  "tls",
  "keepImages",
  "deleteData",
  "privateNetwork",
  "registryPushToken",
  "registryPullToken",
  "sourceToken",
  "appSecrets",
  "ci",
  "ciGithubToken",
  "ciPulumiAccessToken",
  "ciPulumiConfigPassphrase",
] as const;
export type ConfigKeyName = (typeof CONFIG_KEYS)[number];

/** The full key, as errors, stack files and `pulumi config set` spell it: `hcloud-deploy:<name>`. */
export function configKey(name: ConfigKeyName): string {
  return `${PROJECT}:${name}`;
}

/** App names become container names, image repositories and resource names. */
export const APP_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** A digest-pinned image reference, `registry/name@sha256:<64 hex>`. */
export const DIGEST_REF = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$/;

/** Defaults of config values no component has an opinion on. */
export const CONFIG_DEFAULTS = {
  registry: { server: "ghcr.io", ipv6: false, insecure: false },
  dockerfile: "Dockerfile",
};
