/**
 * One error class and one table for every error this service answers with.
 *
 * The public part (`code`, `status`, `description`) goes into the JSON body
 * `{error, error_description}`; `logDetail` and `cause` go to the log only and
 * must never carry a token, cookie value or secret.
 */

export const ERROR_TABLE = {
  invalid_request: { status: 400, description: "The request is malformed or has an invalid parameter." },
  unauthenticated: { status: 401, description: "No valid session. Sign in first." },
  session_expired: { status: 401, description: "The session has ended. Sign in again." },
  csrf_required: { status: 403, description: "This endpoint requires the X-CSRF: 1 header." },
  origin_not_allowed: { status: 403, description: "Requests from this origin are not allowed." },
  insufficient_group: { status: 403, description: "The signed-in user is not in a group this upstream requires." },
  not_found: { status: 404, description: "No such endpoint." },
  method_not_allowed: { status: 405, description: "This method is not allowed on this endpoint." },
  payload_too_large: { status: 413, description: "The request body is too large." },
  internal_error: { status: 500, description: "An internal error occurred." },
  bad_gateway: { status: 502, description: "The upstream service failed to answer correctly." },
  temporarily_unavailable: {
    status: 503,
    description: "The identity provider is temporarily unavailable. Retry later; the session is kept.",
  },
  gateway_timeout: { status: 504, description: "The upstream service did not answer in time." },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface BffErrorOptions {
  /** Public description; defaults to the table's. Never put secrets here. */
  description?: string;
  /** Private detail for the log line only. */
  logDetail?: string;
  /** Seconds for the `Retry-After` header (503). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

export class BffError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly description: string;
  readonly logDetail: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, options: BffErrorOptions = {}) {
    const description = options.description ?? ERROR_TABLE[code].description;
    super(`${code}: ${options.logDetail ?? description}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BffError";
    this.code = code;
    this.status = ERROR_TABLE[code].status;
    this.description = description;
    this.logDetail = options.logDetail;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The JSON body sent to the client. */
  toBody(): { error: ErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

export function isBffError(value: unknown): value is BffError {
  return value instanceof BffError;
}
