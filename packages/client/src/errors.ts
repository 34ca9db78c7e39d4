/// <reference lib="dom" />
/**
 * The errors the browser client throws. Every failure is a {@link BffClientError}
 * with a stable `code`: the BFF's own `error` codes (see the README's error
 * table), plus `network_error` and `invalid_response` for what happens before
 * the BFF could answer. The two codes that mean "send the user to sign in" have
 * their own classes, so an app can write `if (error instanceof SignInRequiredError)`.
 */

/** The BFF's error codes, and the client's own. */
export type BffErrorCode =
  | "unauthenticated"
  | "session_expired"
  | "temporarily_unavailable"
  | "csrf_required"
  | "origin_not_allowed"
  | "invalid_request"
  | "internal_error"
  | "network_error"
  | "invalid_response"
  | (string & {});

export interface BffClientErrorOptions {
  /** HTTP status, when the BFF answered. */
  status?: number;
  /** Seconds to wait before retrying (from `Retry-After`), for `temporarily_unavailable`. */
  retryAfter?: number;
  cause?: unknown;
}

/** Base class: a call to the BFF failed. */
export class BffClientError extends Error {
  readonly code: BffErrorCode;
  readonly status: number | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: BffErrorCode, message: string, options: BffClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BffClientError";
    this.code = code;
    this.status = options.status;
    this.retryAfter = options.retryAfter;
  }
}

/** The user has to sign in (again): there is no session, or it has ended. */
export class SignInRequiredError extends BffClientError {
  constructor(code: "unauthenticated" | "session_expired", message: string, options: BffClientErrorOptions = {}) {
    super(code, message, options);
    this.name = "SignInRequiredError";
  }
}

/** 401 `unauthenticated`: no valid session cookie (never signed in, signed out, or the cookie was lost). */
export class UnauthenticatedError extends SignInRequiredError {
  constructor(message = "Not signed in.", options: BffClientErrorOptions = {}) {
    super("unauthenticated", message, options);
    this.name = "UnauthenticatedError";
  }
}

/**
 * 401 `session_expired`: Cognito rejected the session's refresh token (revoked,
 * expired, user disabled); the BFF has cleared the session. Send the user to sign in.
 */
export class SessionExpiredError extends SignInRequiredError {
  constructor(message = "The session has expired; sign in again.", options: BffClientErrorOptions = {}) {
    super("session_expired", message, options);
    this.name = "SessionExpiredError";
  }
}

/** True when `error` means the user must sign in again (401 `unauthenticated` or `session_expired`). */
export function isSignInRequired(error: unknown): error is SignInRequiredError {
  return error instanceof SignInRequiredError;
}

/** Seconds from a `Retry-After` header (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}

/**
 * Turns a non-2xx answer of the BFF (`{error, error_description}`) into the
 * matching error class. The body is read only for its two public fields.
 */
export async function errorFromResponse(response: Response, nowMs: number): Promise<BffClientError> {
  let code = "";
  let description = "";
  try {
    const body = (await response.json()) as unknown;
    if (body && typeof body === "object") {
      const { error, error_description } = body as Record<string, unknown>;
      if (typeof error === "string") code = error;
      if (typeof error_description === "string") description = error_description;
    }
  } catch {
    // Not JSON (a proxy's error page): classified by status below.
  }
  const options: BffClientErrorOptions = { status: response.status };
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"), nowMs);
  if (retryAfter !== undefined) options.retryAfter = retryAfter;

  if (response.status === 401 && code === "session_expired") return new SessionExpiredError(description || undefined, options);
  if (response.status === 401) return new UnauthenticatedError(description || undefined, options);
  if (!code) code = response.status === 503 ? "temporarily_unavailable" : response.status >= 500 ? "internal_error" : "invalid_request";
  return new BffClientError(code, description || `The BFF answered ${response.status} (${code}).`, options);
}
