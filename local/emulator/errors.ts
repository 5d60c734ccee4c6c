/**
 * Errors in the shape of the Hetzner Cloud API: `{"error": {"code", "message", "details"}}`.
 * hcloud-go keys everything on `code`, and both provider error formatters assume `details.fields`
 * exists on `invalid_input` (they panic otherwise), so every invalid_input goes through invalidInput().
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  toBody(): { error: { code: string; message: string; details: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export function invalidInput(field: string, message: string): ApiError {
  return new ApiError(422, "invalid_input", `invalid input in field '${field}': ${message}`, {
    fields: [{ name: field, messages: [message] }],
  });
}

export function notFound(kind: string, id: number | string): ApiError {
  return new ApiError(404, "not_found", `${kind} with ID '${id}' not found`);
}

export function uniquenessError(field: string, message: string): ApiError {
  return new ApiError(409, "uniqueness_error", message, { fields: [{ name: field }] });
}

/** For requests the real API would accept but this emulator cannot simulate (e.g. IPv4). */
export function unsupported(message: string): ApiError {
  return new ApiError(422, "unsupported_error", message);
}

export function protectedResource(kind: string, id: number): ApiError {
  return new ApiError(423, "protected", `${kind} ${id} is protected against deletion`);
}

export function serverNotStopped(serverId: number): ApiError {
  return new ApiError(
    422,
    "server_not_stopped",
    `server ${serverId} is running, but needs to be powered off`,
  );
}
