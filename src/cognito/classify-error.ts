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
import { loggableText } from "../log.js";

export type FailureKind = "rejected" | "transient" | "misconfigured";

/** Seconds a client should wait before retrying after a transient failure. */
export const RETRY_AFTER_THROTTLED_SECONDS = 5;
export const RETRY_AFTER_UNAVAILABLE_SECONDS = 2;

/**
 * Exceptions that mean this refresh token, or this user, can no longer get
 * tokens. `UserLambdaValidationException` is the pool's own pre-token-generation
 * trigger denying the user: the pool's decision, so the session ends.
 */
const REJECTED = new Set([
  "RefreshTokenReuseException",
  "UserNotFoundException",
  "UserNotConfirmedException",
  "PasswordResetRequiredException",
  "UserLambdaValidationException",
]);

const THROTTLED = new Set(["TooManyRequestsException", "LimitExceededException", "ThrottlingException"]);

/**
 * Failures that waiting can fix. `UnexpectedLambdaException` is a trigger
 * Cognito could not run in time (Cognito gives a trigger about 5 s) and
 * `InvalidLambdaResponseException` a trigger's unreadable answer, which a
 * trigger that timed out half-way also gives: the user is not denied, so the
 * session is kept and the client retries.
 */
const TRANSIENT_NAMES = new Set([
  "InternalErrorException",
  "ServiceUnavailableException",
  "UnexpectedLambdaException",
  // cognito-local 5.x names it so (sic).
  "UnexpectedLambdaExceptionException",
  "InvalidLambdaResponseException",
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

/**
 * `NotAuthorizedException` about the client's secret: our configuration, not
 * the user's token. Cognito words a wrong SECRET_HASH both "Unable to verify
 * secret hash for client <id>" and "SecretHash does not match for the client:
 * <id>", and a missing one "Client <id> is configured for secret but secret
 * was not received".
 */
const SECRET_MISCONFIGURED = /secret ?hash|configured (?:for|with) secret|client secret/i;

/**
 * `NotAuthorizedException` wordings that mean the refresh token (or its user)
 * is no good any more: unknown, expired, revoked (RevokeToken, GlobalSignOut),
 * a disabled user. "User not authorized" is cognito-local's wording for an
 * unknown or revoked token.
 */
const TOKEN_REJECTED =
  /invalid refresh token|refresh token has (?:expired|been revoked)|refresh token (?:has already been used|reuse)|user is disabled|access token has been revoked|user not authorized/i;

/**
 * A `NotAuthorizedException` in a wording we do not know is NOT taken as a
 * rejected token: AWS says its messages are not fixed strings, and the one
 * case where guessing wrong is silent and irreversible is signing out every
 * user (e.g. a new wording for a bad secret). Kept, the session answers 500,
 * the failure is logged with its message and counted, no token is handed out
 * meanwhile, and it heals as soon as the wording is known.
 */
export function isUnrecognizedRejection(name: string, message: string): boolean {
  return name === "NotAuthorizedException" && !SECRET_MISCONFIGURED.test(message) && !TOKEN_REJECTED.test(message);
}

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
    // Stryker disable next-line StringLiteral: only "server" is compared, so any other default reads the same.
    fault: typeof e.$fault === "string" ? e.$fault : "",
  };
}

export function classifyCognitoFailure(error: unknown): FailureKind {
  const { name, code, message, status, fault } = describe(error);
  if (name === "NotAuthorizedException") return TOKEN_REJECTED.test(message) && !SECRET_MISCONFIGURED.test(message) ? "rejected" : "misconfigured";
  if (REJECTED.has(name)) return "rejected";
  if (THROTTLED.has(name) || TRANSIENT_NAMES.has(name) || NETWORK_CODES.has(code) || NETWORK_CODES.has(name)) return "transient";
  if (fault === "server" || (status !== undefined && status >= 500) || status === 429) return "transient";
  // Anything else (a 4xx we do not know, or an error of our own) is not fixed by waiting.
  return "misconfigured";
}

/** The failure kind an error code of {@link toBffError} stands for (a span's outcome); other codes count as misconfigured. */
export function failureKindOfCode(code: string): FailureKind {
  if (code === "session_expired") return "rejected";
  return code === "temporarily_unavailable" ? "transient" : "misconfigured";
}

/** The public error for a failed Cognito call; the log detail names the exception and its message, never a token. */
export function toBffError(error: unknown, operation: string): BffError {
  const kind = classifyCognitoFailure(error);
  const { name, code, status, message } = describe(error);
  const unrecognized = isUnrecognizedRejection(name, message) ? " (unrecognized NotAuthorizedException wording: session kept)" : "";
  const said = name === "NotAuthorizedException" && message ? `: ${loggableText(message, 160)}` : "";
  const logDetail = `${operation} failed: ${name}${code ? ` (${code})` : ""}${status ? ` HTTP ${status}` : ""}${said} -> ${kind}${unrecognized}`;
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
