import { parse } from "yaml";
import type { HostFile } from "../simhostFiles";

/** What a simulated host takes from the program's cloud-config document. */
export interface HostCloudConfig {
  hostKey: { privateKey: string; publicKey: string };
  /** `ssh_authorized_keys` of the document, for root next to the server's ssh_keys. */
  authorizedKeys: string[];
  /** `write_files` of the document (path, content, permissions; default permissions 0644). */
  files: HostFile[];
  /** Names of the `packages` the document installs. */
  packages: string[];
}

export type CloudInitResult = { ok: true; config: HostCloudConfig } | { ok: false; problems: string[] };

const HEADER = "#cloud-config";
// cloud-init's own spelling of false for ssh_pwauth (util.is_false).
const FALSE_WORDS = new Set(["false", "no", "off", "0"]);

type Document = Record<string, unknown>;

function hostKeyOf(document: Document, problems: string[]): HostCloudConfig["hostKey"] | undefined {
  const keys = (document.ssh_keys ?? {}) as Record<string, unknown>;
  const privateKey = keys.ed25519_private;
  const publicKey = keys.ed25519_public;
  if (typeof privateKey !== "string" || typeof publicKey !== "string") {
    problems.push(
      "no pinned SSH host key: ssh_keys.ed25519_private and ssh_keys.ed25519_public are required",
    );
    return undefined;
  }
  if (!privateKey.includes("-----BEGIN OPENSSH PRIVATE KEY-----")) {
    problems.push("ssh_keys.ed25519_private is not an OpenSSH private key");
  }
  if (!publicKey.startsWith("ssh-ed25519 ")) {
    problems.push("ssh_keys.ed25519_public is not an ssh-ed25519 public key");
  }
  return { privateKey, publicKey: publicKey.trim() };
}

/** `packages` entries are names or [name, version] pairs. */
function packagesOf(document: Document): string[] {
  const packages = Array.isArray(document.packages) ? (document.packages as unknown[]) : [];
  return packages.map((entry) => String(Array.isArray(entry) ? entry[0] : entry));
}

function filesOf(document: Document, problems: string[]): HostFile[] {
  const files = document.write_files ?? [];
  if (!Array.isArray(files)) {
    problems.push("write_files must be a list");
    return [];
  }
  return files.flatMap((file: Record<string, unknown>) => {
    if (typeof file?.path !== "string" || typeof (file.content ?? "") !== "string") {
      problems.push("every write_files entry needs a path and text content");
      return [];
    }
    return [
      {
        path: file.path,
        content: String(file.content ?? ""),
        permissions: String(file.permissions ?? "0644"),
      },
    ];
  });
}

function disablesPasswords(document: Document): boolean {
  const value = document.ssh_pwauth;
  return value === false || (typeof value === "string" && FALSE_WORDS.has(value.toLowerCase()));
}

function authorizedKeysOf(document: Document, problems: string[]): string[] {
  const keys = document.ssh_authorized_keys ?? [];
  if (!Array.isArray(keys) || !keys.every((key) => typeof key === "string")) {
    problems.push("ssh_authorized_keys must be a list of public key lines");
    return [];
  }
  return keys.map((key) => key.trim());
}

/**
 * Checks the parts of the program's cloud-init a simulated host relies on, and returns them. Pure;
 * lists every problem at once, so one failed server create tells the whole story.
 */
export function parseCloudInit(userData: string): CloudInitResult {
  if (!userData.startsWith(HEADER)) {
    return { ok: false, problems: [`user_data does not start with "${HEADER}"`] };
  }
  let document: unknown;
  try {
    document = parse(userData);
  } catch (error) {
    return { ok: false, problems: [`user_data is not valid YAML: ${(error as Error).message}`] };
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    return { ok: false, problems: ["user_data is not a YAML mapping"] };
  }
  const doc = document as Document;
  const problems: string[] = [];
  const hostKey = hostKeyOf(doc, problems);
  const packages = packagesOf(doc);
  if (!packages.includes("docker.io"))
    problems.push("docker is not installed: packages must contain docker.io");
  if (!disablesPasswords(doc)) problems.push("SSH password login is not disabled: set ssh_pwauth: false");
  const authorizedKeys = authorizedKeysOf(doc, problems);
  const files = filesOf(doc, problems);
  if (problems.length > 0 || !hostKey) return { ok: false, problems };
  return { ok: true, config: { hostKey, authorizedKeys, files, packages } };
}
