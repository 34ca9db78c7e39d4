/**
 * Translates errors from the Cognito API (AWS SDK v3 exceptions, network and
 * timeout errors) into this service's codes. This is the one place that decides
 * whether a failed refresh ends the session.
 *
 * - rejected: the refresh token is no good any more -> 401 `session_expired`.
 * - transient: throttling, 5xx, network, timeout, garbage -> 503
 *   `temporarily_unavailable` with Retry-After; the session and its refresh
 *   token are kept.
 * - misconfigured: our request is wrong (client id, secret) -> 500; the
 *   session is kept, because signing the user out would not fix it.
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html#API_InitiateAuth_Errors
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html#API_GetTokensFromRefreshToken_Errors
 */
import { BffError } from "../errors.js";

export type FailureKind = "rejected" | "transient" | "misconfigured";

/** Seconds a client should wait before retrying after a transient failure. */
export const RETRY_AFTER_THROTTLED_SECONDS = 5;
export const RETRY_AFTER_UNAVAILABLE_SECONDS = 2;

const REJECTED = new Set([
  "NotAuthorizedException",
  "RefreshTokenReuseException",
  "UserNotFoundException",
  "UserNotConfirmedException",
  "PasswordResetRequiredException",
]);

const THROTTLED = new Set(["TooManyRequestsException", "LimitExceededException", "ThrottlingException"]);

const TRANSIENT_NAMES = new Set([
  "InternalErrorException",
  "ServiceUnavailableException",
  "TimeoutError",
  "AbortError",
  "RequestTimeout",
  "RequestTimeoutException",
  "SyntaxError",
]);

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

/** Cognito answers NotAuthorizedException for a bad client secret too; that is our fault, not the user's. */
const SECRET_MISCONFIGURED = /secret hash|configured (?:for|with) secret|client secret/i;

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function describe(error: unknown): { name: string; code: string; message: string; status: number | undefined; fault: string } {
  const e = (typeof error === "object" && error !== null ? error : {}) as SdkLikeError;
  const status = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  return {
    name: typeof e.name === "string" ? e.name : "Error",
    code: typeof e.code === "string" ? e.code : "",
    message: typeof e.message === "string" ? e.message : "",
    status,
    fault: typeof e.$fault === "string" ? e.$fault : "",
  };
}

export function classifyCognitoFailure(error: unknown): FailureKind {
  const { name, code, message, status, fault } = describe(error);
  if (REJECTED.has(name)) return SECRET_MISCONFIGURED.test(message) ? "misconfigured" : "rejected";
  if (THROTTLED.has(name) || TRANSIENT_NAMES.has(name) || NETWORK_CODES.has(code) || NETWORK_CODES.has(name)) return "transient";
  if (fault === "server" || (status !== undefined && status >= 500) || status === 429) return "transient";
  // Anything else (a 4xx we do not know, or an error of our own) is not fixed by waiting.
  return "misconfigured";
}

/** The public error for a failed Cognito call; the log detail names the exception, never a token. */
export function toBffError(error: unknown, operation: string): BffError {
  const kind = classifyCognitoFailure(error);
  const { name, code, status } = describe(error);
  const logDetail = `${operation} failed: ${name}${code ? ` (${code})` : ""}${status ? ` HTTP ${status}` : ""} -> ${kind}`;
  switch (kind) {
    case "rejected":
      return new BffError("session_expired", { logDetail, cause: error });
    case "transient":
      return new BffError("temporarily_unavailable", {
        logDetail,
        cause: error,
        retryAfterSeconds: THROTTLED.has(name) || status === 429 ? RETRY_AFTER_THROTTLED_SECONDS : RETRY_AFTER_UNAVAILABLE_SECONDS,
      });
    case "misconfigured":
      return new BffError("internal_error", { logDetail, cause: error });
  }
}
