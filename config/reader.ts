import { ConfigKeyName, configKey } from "./schema";

/** The raw values as stack config holds them, by key name; secrets in plain text, for validation only. */
export interface RawConfig {
  readonly [key: string]: unknown;
}

/**
 * A config error is a user error, not a bug. Every message starts with the full config key path, e.g.
 * `hcloud-deploy:hosts[1].location`. Plain Error, so the command-line scripts can use the reader without
 * loading the Pulumi SDK; the loader turns it into a RunError, which Pulumi prints without a stack trace.
 */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`${key}: ${problem}`);
    this.name = "ConfigError";
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Walks a JSON config value, remembering the key path so every error names the exact key. Reading a
 * field marks it as known; `done()` rejects the fields nobody read (typos like `hostport`).
 */
export class ConfigNode {
  private readonly seen = new Set<string>();

  constructor(
    readonly key: string,
    readonly value: Json | undefined,
  ) {}

  fail(problem: string): never {
    throw new ConfigError(this.key, problem);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  field(name: string): ConfigNode {
    const obj = this.object();
    this.seen.add(name);
    return new ConfigNode(`${this.key}.${name}`, obj[name]);
  }

  object(): { [key: string]: Json } {
    if (typeof this.value !== "object" || this.value === null || Array.isArray(this.value)) {
      this.fail(`must be an object, got ${describe(this.value)}`);
    }
    return this.value;
  }

  /** Rejects keys that no reader asked for. */
  done(): void {
    const unknown = Object.keys(this.object()).filter((k) => !this.seen.has(k));
    if (unknown.length > 0) this.fail(`unknown field "${unknown[0]}"`);
  }

  items(): ConfigNode[] {
    if (!Array.isArray(this.value)) this.fail(`must be a list, got ${describe(this.value)}`);
    return this.value.map((v, i) => new ConfigNode(`${this.key}[${i}]`, v));
  }

  /** Like items(), but an absent list is an empty one. */
  optionalItems(): ConfigNode[] {
    return this.present ? this.items() : [];
  }

  entries(): [string, ConfigNode][] {
    return Object.keys(this.object()).map((k) => [k, this.field(k)]);
  }

  string(fallback?: string): string {
    if (!this.present) {
      if (fallback !== undefined) return fallback;
      this.fail("is required");
    }
    if (typeof this.value !== "string") this.fail(`must be a string, got ${describe(this.value)}`);
    if (this.value.trim() === "") this.fail("must not be empty");
    return this.value;
  }

  matching(pattern: RegExp, what: string, fallback?: string): string {
    const text = this.string(fallback);
    if (!pattern.test(text)) this.fail(`"${text}" is not ${what}`);
    return text;
  }

  oneOf<T extends string>(allowed: readonly T[], fallback?: T): T {
    const text = this.string(fallback);
    if (!(allowed as readonly string[]).includes(text)) {
      this.fail(`"${text}" is not one of ${allowed.map((a) => `"${a}"`).join(", ")}`);
    }
    return text as T;
  }

  integer(min: number, max: number, fallback?: number): number {
    if (!this.present) {
      if (fallback !== undefined) return fallback;
      this.fail("is required");
    }
    // Stack files written by `pulumi config set` hold numbers as strings.
    const n = typeof this.value === "string" && /^-?\d+$/.test(this.value) ? Number(this.value) : this.value;
    if (typeof n !== "number" || !Number.isInteger(n))
      this.fail(`must be an integer, got ${describe(this.value)}`);
    if (n < min || n > max) this.fail(`${n} is out of range (${min}-${max})`);
    return n;
  }

  number(min: number, max: number, fallback?: number): number {
    if (!this.present) {
      if (fallback !== undefined) return fallback;
      this.fail("is required");
    }
    const n = typeof this.value === "string" && this.value.trim() !== "" ? Number(this.value) : this.value;
    if (typeof n !== "number" || !Number.isFinite(n))
      this.fail(`must be a number, got ${describe(this.value)}`);
    if (n < min || n > max) this.fail(`${n} is out of range (${min}-${max})`);
    return n;
  }

  boolean(fallback: boolean): boolean {
    if (!this.present) return fallback;
    if (this.value === true || this.value === "true") return true;
    if (this.value === false || this.value === "false") return false;
    this.fail(`must be true or false, got ${describe(this.value)}`);
  }

  strings(fallback?: string[]): string[] {
    if (!this.present && fallback !== undefined) return fallback;
    return this.items().map((item) => item.string());
  }

  /** A map of plain strings; empty values are allowed because "" is a legitimate setting. */
  stringMap(): Record<string, string> {
    if (!this.present) return {};
    return Object.fromEntries(
      this.entries().map(([k, v]): [string, string] => {
        const text = v.value;
        return typeof text === "string" ? [k, text] : v.fail(`must be a string, got ${describe(text)}`);
      }),
    );
  }
}

function describe(value: Json | undefined): string {
  if (value === undefined || value === null) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Rejects the first value that appears twice, naming the key of the second occurrence. */
export function requireUnique<T>(
  items: readonly T[],
  nodes: ConfigNode[],
  keyOf: (item: T) => string,
  what: string,
): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = keyOf(item);
    if (seen.has(k)) nodes[i].fail(`duplicate ${what} "${k}"`);
    seen.add(k);
  });
}

/** A reader for one top-level project key of the raw config. */
export function node(raw: RawConfig, name: ConfigKeyName): ConfigNode {
  return new ConfigNode(configKey(name), raw[name] as never);
}
