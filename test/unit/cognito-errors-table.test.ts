/**
 * Every failure of a Cognito refresh the classifier knows, one row each: the exception names of the API
 * reference, the Node and undici network codes (as `code`, and as `name` the way some SDK paths report them),
 * a 5xx known only by `$fault` or only by its status, throttling by name or by HTTP 429. A row dropped from the
 * classifier's lists turns into a failing row here.
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html#API_InitiateAuth_Errors
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html#API_GetTokensFromRefreshToken_Errors
 * @see https://nodejs.org/api/errors.html#common-system-errors
 */
import { describe, expect, it } from "vitest";
import { classifyCognitoFailure, failureKindOfCode, isUnrecognizedRejection, toBffError } from "../../src/cognito/classify-error.js";

/** An AWS SDK v3 service exception as the SDK builds it: a 400 with `$fault: "client"` unless told otherwise. */
const sdk = (name: string, message = "", status = 400, fault = status >= 500 ? "server" : "client") =>
  Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe("Cognito failures: the session ends", () => {
  it.each(["RefreshTokenReuseException", "UserNotFoundException", "UserNotConfirmedException", "PasswordResetRequiredException", "UserLambdaValidationException"])(
    "%s ends the session (401 session_expired)",
    (name) => {
      expect(classifyCognitoFailure(sdk(name))).toBe("rejected");
      const error = toBffError(sdk(name), "InitiateAuth");
      expect(error.code).toBe("session_expired");
      expect(error.status).toBe(401);
    },
  );

  it.each([
    "Invalid Refresh Token",
    "invalid refresh token.",
    "Refresh Token has expired",
    "Refresh Token has been revoked",
    "Refresh token has already been used",
    "Refresh token reuse detected",
    "User is disabled.",
    "Access Token has been revoked",
    "User not authorized",
  ])("NotAuthorizedException %j ends the session", (message) => {
    expect(classifyCognitoFailure(sdk("NotAuthorizedException", message))).toBe("rejected");
    expect(isUnrecognizedRejection("NotAuthorizedException", message)).toBe(false);
  });
});

describe("Cognito failures: the session is kept and the client retries (503)", () => {
  it.each(["TooManyRequestsException", "LimitExceededException", "ThrottlingException"])("%s is throttling: 503 with Retry-After 5", (name) => {
    const error = toBffError(sdk(name), "InitiateAuth");
    expect(error.code).toBe("temporarily_unavailable");
    expect(error.retryAfterSeconds).toBe(5);
  });

  it.each([
    "InternalErrorException",
    "ServiceUnavailableException",
    "UnexpectedLambdaException",
    "UnexpectedLambdaExceptionException",
    "InvalidLambdaResponseException",
    "TimeoutError",
    "AbortError",
    "RequestTimeout",
    "RequestTimeoutException",
    "SyntaxError",
  ])("%s (as a 400) is transient: 503 with Retry-After 2", (name) => {
    expect(classifyCognitoFailure(sdk(name))).toBe("transient");
    const error = toBffError(sdk(name), "InitiateAuth");
    expect(error.code).toBe("temporarily_unavailable");
    expect(error.status).toBe(503);
    expect(error.retryAfterSeconds).toBe(2);
  });

  const NETWORK = ["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_SOCKET"];

  it.each(NETWORK)("a network error with code %s is transient", (code) => {
    expect(classifyCognitoFailure(Object.assign(new Error("network"), { code }))).toBe("transient");
    expect(toBffError(Object.assign(new Error("network"), { code }), "InitiateAuth").retryAfterSeconds).toBe(2);
  });

  it.each(NETWORK)("a network error named %s is transient", (name) => {
    expect(classifyCognitoFailure(Object.assign(new Error("network"), { name }))).toBe("transient");
  });

  it("a server fault known only by $fault (no status) is transient", () => {
    expect(classifyCognitoFailure({ name: "SomethingNew", $fault: "server" })).toBe("transient");
    expect(classifyCognitoFailure({ name: "SomethingNew", $fault: "client" })).toBe("misconfigured");
  });

  it.each([500, 502, 503, 504, 599])("an unknown exception known only by its HTTP status %i is transient", (status) => {
    expect(classifyCognitoFailure({ name: "SomethingNew", $metadata: { httpStatusCode: status } })).toBe("transient");
    expect(toBffError({ name: "SomethingNew", $metadata: { httpStatusCode: status } }, "InitiateAuth").retryAfterSeconds).toBe(2);
  });

  it("an unknown exception with HTTP 429 is throttling: 503 with Retry-After 5", () => {
    expect(classifyCognitoFailure(sdk("SomethingNew", "", 429))).toBe("transient");
    const error = toBffError({ name: "SomethingNew", $metadata: { httpStatusCode: 429 } }, "InitiateAuth");
    expect(error.code).toBe("temporarily_unavailable");
    expect(error.retryAfterSeconds).toBe(5);
  });
});

describe("Cognito failures: our misconfiguration (500, the session is kept)", () => {
  it.each([400, 403, 404, 428, 430, 499])("an unknown exception with HTTP %i is not fixed by waiting", (status) => {
    expect(classifyCognitoFailure(sdk("SomethingNew", "", status))).toBe("misconfigured");
    expect(toBffError(sdk("SomethingNew", "", status), "InitiateAuth").code).toBe("internal_error");
  });

  it.each([undefined, null, "a string", 42, {}, { name: 42, code: 7, $metadata: { httpStatusCode: "503" } }])("a thrown %j that is no SDK error is misconfiguration", (thrown) => {
    expect(classifyCognitoFailure(thrown)).toBe("misconfigured");
  });

  it.each([
    "Unable to verify secret hash for client abc",
    "SecretHash does not match for the client: abc",
    "Client abc is configured for secret but secret was not received",
    "Client abc is configured with secret but SECRET_HASH was not received",
    "Invalid client secret",
    // A token wording and a secret wording together: the secret decides (signing every user out would not fix it).
    "Invalid Refresh Token or secret hash",
  ])("NotAuthorizedException %j is about our secret, not the user's token", (message) => {
    expect(classifyCognitoFailure(sdk("NotAuthorizedException", message))).toBe("misconfigured");
    expect(isUnrecognizedRejection("NotAuthorizedException", message)).toBe(false);
  });

  it("a NotAuthorizedException in an unknown wording is unrecognized; another exception never is", () => {
    expect(isUnrecognizedRejection("NotAuthorizedException", "Something new")).toBe(true);
    expect(isUnrecognizedRejection("SomethingNew", "Something new")).toBe(false);
  });
});

describe("the log detail of a classified failure", () => {
  it("names the operation, the exception, its network code and HTTP status, and the decision", () => {
    expect(toBffError(Object.assign(new Error("x"), { name: "Error", code: "ECONNRESET" }), "GetTokensFromRefreshToken").logDetail).toBe(
      "GetTokensFromRefreshToken failed: Error (ECONNRESET) -> transient",
    );
    expect(toBffError(sdk("InternalErrorException", "boom", 500), "InitiateAuth").logDetail).toBe("InitiateAuth failed: InternalErrorException HTTP 500 -> transient");
    expect(toBffError(sdk("UserNotFoundException", "User does not exist."), "InitiateAuth").logDetail).toBe("InitiateAuth failed: UserNotFoundException HTTP 400 -> rejected");
    expect(toBffError(sdk("NotAuthorizedException", "Invalid Refresh Token"), "InitiateAuth").logDetail).toBe(
      "InitiateAuth failed: NotAuthorizedException HTTP 400: Invalid Refresh Token -> rejected",
    );
    expect(toBffError("not an error", "InitiateAuth").logDetail).toBe("InitiateAuth failed: Error -> misconfigured");
  });

  it("a NotAuthorizedException without a message string logs no message", () => {
    expect(toBffError({ name: "NotAuthorizedException", message: 42 }, "InitiateAuth").logDetail).toBe(
      "InitiateAuth failed: NotAuthorizedException -> misconfigured (unrecognized NotAuthorizedException wording: session kept)",
    );
  });

  it("keeps the original error as the cause", () => {
    const original = sdk("InternalErrorException", "", 500);
    expect(toBffError(original, "InitiateAuth").cause).toBe(original);
    const rejected = sdk("UserNotFoundException");
    expect(toBffError(rejected, "InitiateAuth").cause).toBe(rejected);
    const bad = sdk("SomethingNew");
    expect(toBffError(bad, "InitiateAuth").cause).toBe(bad);
  });
});

describe("the failure kind of a public error code (a span's outcome)", () => {
  it.each([
    ["session_expired", "rejected"],
    ["temporarily_unavailable", "transient"],
    ["internal_error", "misconfigured"],
    ["bad_gateway", "misconfigured"],
  ])("%s stands for %s", (code, kind) => {
    expect(failureKindOfCode(code)).toBe(kind);
  });
});
