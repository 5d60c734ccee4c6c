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
    readonly details: Record<string, unknown> | null = {},
  ) {
    super(message);
  }

  toBody(): { error: { code: string; message: string; details: Record<string, unknown> | null } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export function invalidInput(field: string, message: string): ApiError {
  return new ApiError(422, "invalid_input", `invalid input in field '${field}': ${message}`, {
    fields: [{ name: field, messages: [message] }],
  });
}

/**
 * POST /servers with a type in a location where it is not offered (never, or no longer: past its
 * `unavailable_after` there). The real answer, word for word, with `details: {}` as the API sends it
 * (autobase-tech/autobase #1403, Dakera-AI/dakera-deploy #185, 2026-06-15). `{}` is safe for the
 * provider: hcloud-go sets an empty field list whenever `details` is present.
 */
export function unsupportedLocation(): ApiError {
  return new ApiError(422, "invalid_input", "unsupported location for server type", {});
}

/**
 * POST /servers with a type that is sold out in the location: HTTP 412 with `details: null`, the body
 * quoted in jenkinsci/hetzner-cloud-plugin #21 and seen through 2026 (Dakera-AI/dakera-deploy #189).
 */
export function soldOut(): ApiError {
  return new ApiError(412, "resource_unavailable", "error during placement", null);
}

/**
 * `datacenter` on server and primary IP create: removed from the API on 2026-07-01 (hcloud-go v2.45.0
 * changelog). Whether the API now rejects or ignores it is unconfirmed; rejecting it is this
 * emulator's choice, so a program that still sends it notices here rather than in production.
 */
export function datacenterRemoved(): ApiError {
  return invalidInput("datacenter", "was removed on 2026-07-01; use location");
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

/**
 * Answers of the real API that only volumes give. Sources: hcloud-go v2.44.0 `hcloud/error.go`
 * (`volume_already_attached`, "Volume is already attached to a server, detach first"), the API's OpenAPI
 * description (status per code: service_error 422, protected 423), and messages quoted from logs in
 * hetznercloud/csi-driver #12 (delete while attached), #91 (resize down) and #614 (resize to the same
 * size); terraform-provider-hcloud #337 for automount without format.
 */
export function volumeAlreadyAttached(volumeId: number, serverId: number): ApiError {
  return new ApiError(
    422,
    "volume_already_attached",
    `volume ${volumeId} is already attached to server ${serverId}, detach first`,
  );
}

/** `DELETE /volumes/{id}` of an attached volume, word for word (csi-driver #12, 2019). */
export function volumeStillAttached(volumeId: number): ApiError {
  return new ApiError(422, "service_error", `volume with ID '${volumeId}' is still attached to a server`);
}

/** An invalid_input whose message is the API's own sentence, not "invalid input in field …". */
function invalidInputSaying(fields: string[], message: string): ApiError {
  return new ApiError(422, "invalid_input", message, {
    fields: fields.map((name) => ({ name, messages: [message] })),
  });
}

/** Resize below the current size (csi-driver #91). */
export function sizeDowngrade(): ApiError {
  return invalidInputSaying(["size"], "size downgrade is not allowed");
}

/**
 * Resize to the current size, as logged in csi-driver #614 (2024; PR #623 quotes it as "too small").
 * The API wants the new size to be greater than the current one.
 */
export function sizeTooSmall(): ApiError {
  return invalidInputSaying(["size"], "volume size is to small");
}

/** `automount: true` on create without `format`: the API names both fields (provider issue #337, 2021). */
export function automountWithoutFormat(): ApiError {
  return invalidInputSaying(["format", "automount"], "invalid input in fields 'format', 'automount'");
}
