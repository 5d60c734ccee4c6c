import { invalidInput } from "./errors";
import { Labels } from "./state";

// Rules from the API docs ("Labels"): the same pattern bounds label names and values.
const NAME_OR_VALUE = /^[a-zA-Z0-9]([-_.a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function keyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (!NAME_OR_VALUE.test(name)) return `label key "${key}" has an invalid name segment`;
  if (prefix === undefined) return undefined;
  if (prefix.length > 253 || !prefix.split(".").every((part) => DNS_LABEL.test(part))) {
    return `label key "${key}" has a prefix that is not a DNS subdomain`;
  }
  if (prefix === "hetzner.cloud" || prefix.endsWith(".hetzner.cloud")) {
    return `label key "${key}" uses the reserved hetzner.cloud/ prefix`;
  }
  return undefined;
}

/** Validates a `labels` body field; absent means "no labels". */
export function readLabels(value: unknown, field = "labels"): Labels {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalidInput(field, "must be an object");
  const labels: Labels = {};
  for (const [key, labelValue] of Object.entries(value)) {
    const problem = keyProblem(key);
    if (problem) throw invalidInput(field, problem);
    if (typeof labelValue !== "string") throw invalidInput(field, `label "${key}" must have a string value`);
    if (labelValue !== "" && !NAME_OR_VALUE.test(labelValue)) {
      throw invalidInput(field, `label "${key}" has an invalid value "${labelValue}"`);
    }
    labels[key] = labelValue;
  }
  return labels;
}

type Requirement = (labels: Labels) => boolean;

/** Splits on commas outside parentheses: `env in (a,b),!type` has two requirements. */
function splitRequirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of selector) {
    if (char === "(") depth++;
    if (char === ")") depth--;
    if (char === "," && depth === 0) {
      parts.push(current.trim());
      current = "";
    } else {
      current += char;
    }
  }
  parts.push(current.trim());
  return parts;
}

function parseRequirement(text: string): Requirement | undefined {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
  if (set) {
    const [, key, operator, list] = set;
    const values = list.split(",").map((value) => value.trim());
    return operator === "in"
      ? (labels) => Object.hasOwn(labels, key) && values.includes(labels[key])
      : (labels) => !(Object.hasOwn(labels, key) && values.includes(labels[key]));
  }
  const comparison = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s!=]*)$/.exec(text);
  if (comparison) {
    const [, key, operator, value] = comparison;
    return operator === "!=" ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  const absent = /^!([^\s!=]+)$/.exec(text);
  if (absent) return (labels) => !Object.hasOwn(labels, absent[1]);
  const present = /^([^\s!=(),]+)$/.exec(text);
  if (present) return (labels) => Object.hasOwn(labels, present[1]);
  return undefined;
}

/** Compiles a label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (…)`, `k notin (…)`, comma = and). */
export function parseLabelSelector(selector: string, field = "label_selector"): (labels: Labels) => boolean {
  const requirements = splitRequirements(selector).map((text) => {
    const requirement = parseRequirement(text);
    if (!requirement) throw invalidInput(field, `"${text}" is not a valid label selector expression`);
    return requirement;
  });
  return (labels) => requirements.every((requirement) => requirement(labels));
}
