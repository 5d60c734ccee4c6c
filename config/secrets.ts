import { parsePublicKey, publicKeyOfPrivateKey } from "../components/sshKeys";
import type { CiPlainSecrets } from "./ci";
import { ConfigKeyName, configKey } from "./schema";
import { ConfigError, ConfigNode } from "./reader";
import type { DeployConfig } from "./types";

/** Plain values of the secrets, for validation only; the program gets them as secret Outputs. */
export interface PlainSecrets {
  readonly sshPrivateKey?: string;
  readonly registryPushToken?: string;
  readonly registryPullToken?: string;
  readonly appSecrets?: unknown;
  readonly hcloudToken?: string;
  readonly sourceToken?: string;
  /** The CI block's own secrets (its push token is registryPushToken above). */
  readonly ci?: Omit<CiPlainSecrets, "registryPushToken">;
}

function requireSecret(value: string | undefined, name: ConfigKeyName, why: string): void {
  if (value === undefined || value === "") {
    throw new ConfigError(
      configKey(name),
      `is required ${why}: pulumi config set --secret ${configKey(name)} <value>`,
    );
  }
}

/** Every secret the validated config needs is set, and the deployer's key pair matches. */
export function checkSecrets(
  config: Omit<DeployConfig, "secrets" | "ci" | "catalogAccess" | "registryAccess" | "sourceAccess">,
  secrets: PlainSecrets,
): void {
  if (!secrets.hcloudToken) {
    throw new ConfigError(
      "hcloud:token",
      "is required: pulumi config set --secret hcloud:token <token> (or HCLOUD_TOKEN)",
    );
  }
  requireSecret(secrets.sshPrivateKey, "sshPrivateKey", "to reach the hosts");
  let pair;
  try {
    pair = publicKeyOfPrivateKey(secrets.sshPrivateKey as string);
  } catch (err) {
    throw new ConfigError(configKey("sshPrivateKey"), (err as Error).message);
  }
  if (pair.blob !== parsePublicKey(config.sshPublicKey).blob) {
    throw new ConfigError(configKey("sshPrivateKey"), `does not match ${configKey("sshPublicKey")}`);
  }
  if (config.apps.some((a) => a.source.kind === "build" || a.source.kind === "git")) {
    requireSecret(secrets.registryPushToken, "registryPushToken", "to push the images this stack builds");
  }
  if (config.apps.some((a) => a.delivery === "registry")) {
    requireSecret(secrets.registryPullToken, "registryPullToken", 'for apps with "registry" delivery');
  }
  const appSecretsKey = configKey("appSecrets");
  const appSecrets = new ConfigNode(appSecretsKey, (secrets.appSecrets ?? {}) as never);
  for (const app of config.apps) {
    if (app.secretEnv.length === 0) continue;
    const values = appSecrets.field(app.name);
    for (const name of app.secretEnv) {
      const value = values.present ? values.field(name) : values;
      if (!value.present || typeof value.value !== "string") {
        throw new ConfigError(
          `${appSecretsKey}.${app.name}.${name}`,
          `is required by app "${app.name}": pulumi config set --secret --path '${appSecretsKey}.${app.name}.${name}' <value>`,
        );
      }
    }
  }
}
