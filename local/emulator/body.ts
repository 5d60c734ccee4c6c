import { invalidInput } from "./errors";

/** A parsed JSON request body; action POSTs without a body arrive as `{}`. */
export type Body = Record<string, unknown>;

export function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidInput(field, "must be a string");
  return value;
}

export function requiredString(body: Body, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value === "") throw invalidInput(field, "is required");
  return value;
}

export function optionalBoolean(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw invalidInput(field, "must be a boolean");
  return value;
}

export function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

export function optionalId(body: Body, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!isId(value)) throw invalidInput(field, "must be a positive integer ID");
  return value;
}

/** Fields like `server_type` or `location` that take an ID or a name. */
export function optionalReference(body: Body, field: string): number | string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (isId(value) || (typeof value === "string" && value !== "")) return value;
  throw invalidInput(field, "must be an ID or a name");
}

export function optionalArray(body: Body, field: string): unknown[] {
  const value = body[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidInput(field, "must be an array");
  return value;
}

export function optionalObject(body: Body, field: string): Body | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw invalidInput(field, "must be an object");
  return value as Body;
}
