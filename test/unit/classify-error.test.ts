import { describe, expect, it } from "vitest";
import { classifyCognitoFailure, toBffError } from "../../src/cognito/classify-error.js";

const sdkError = (name: string, status: number, message = "", fault: "client" | "server" = status >= 500 ? "server" : "client") =>
  Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe("classifyCognitoFailure", () => {
  it.each([
    ["NotAuthorizedException", 400, "Refresh Token has been revoked"],
    ["NotAuthorizedException", 400, "Invalid Refresh Token."],
    ["NotAuthorizedException", 400, "Refresh Token has expired"],
    ["NotAuthorizedException", 400, "User is disabled."],
    ["NotAuthorizedException", 400, "Access Token has been revoked"],
    // cognito-local's wording for an unknown or revoked refresh token.
    ["NotAuthorizedException", 400, "User not authorized"],
    ["RefreshTokenReuseException", 400, "Refresh token has been reused"],
    ["UserNotFoundException", 400, "User does not exist."],
    ["UserNotConfirmedException", 400, "User is not confirmed."],
    ["PasswordResetRequiredException", 400, "Password reset required for the user"],
    // A pre-token-generation trigger denying the user is the pool's decision.
    ["UserLambdaValidationException", 400, "PreTokenGeneration failed with error You don't have access."],
  ])("a rejected refresh token (%s: %s) ends the session", (name, status, message) => {
    expect(classifyCognitoFailure(sdkError(name, status, message))).toBe("rejected");
    expect(toBffError(sdkError(name, status, message), "InitiateAuth").code).toBe("session_expired");
  });

  it.each([
    ["TooManyRequestsException", 400],
    ["LimitExceededException", 400],
    ["InternalErrorException", 500],
    ["SomethingNew", 503],
    // A trigger Cognito could not run in time, or whose answer it could not read.
    ["UnexpectedLambdaException", 400],
    ["UnexpectedLambdaExceptionException", 400],
    ["InvalidLambdaResponseException", 400],
  ])("%s (HTTP %i) is transient and keeps the session", (name, status) => {
    const error = toBffError(sdkError(name, status), "InitiateAuth");
    expect(error.code).toBe("temporarily_unavailable");
    expect(error.status).toBe(503);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
  });

  it.each([
    "Unable to verify secret hash for client abc",
    "SecretHash does not match for the client: abc",
    "Client abc is configured for secret but secret was not received",
  ])("a bad or missing secret (%s) is our misconfiguration, not the user's: 500 and the session is kept", (message) => {
    const error = sdkError("NotAuthorizedException", 400, message);
    expect(classifyCognitoFailure(error)).toBe("misconfigured");
    expect(toBffError(error, "InitiateAuth").code).toBe("internal_error");
  });

  it("a NotAuthorizedException in an unknown wording keeps the session (500) and its log line says so, with the message", () => {
    const error = sdkError("NotAuthorizedException", 400, "Something Cognito never said before");
    expect(classifyCognitoFailure(error)).toBe("misconfigured");
    const bff = toBffError(error, "InitiateAuth");
    expect(bff.code).toBe("internal_error");
    expect(bff.logDetail).toBe(
      "InitiateAuth failed: NotAuthorizedException HTTP 400: Something Cognito never said before -> misconfigured (unrecognized NotAuthorizedException wording: session kept)",
    );
  });

  it("the logged message never carries a token-like run", () => {
    const token = "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlc2lnbmF0dXJl";
    const bff = toBffError(sdkError("NotAuthorizedException", 400, `Invalid Refresh Token: ${token}`), "InitiateAuth");
    expect(bff.logDetail).not.toContain(token.slice(0, 30));
    expect(bff.logDetail).toContain("[redacted]");
  });

  it("network failures and timeouts are transient", () => {
    expect(classifyCognitoFailure(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe("transient");
    expect(classifyCognitoFailure(Object.assign(new Error("aborted"), { name: "AbortError" }))).toBe("transient");
    expect(classifyCognitoFailure(Object.assign(new Error("t"), { name: "TimeoutError" }))).toBe("transient");
  });

  it("an unknown client is misconfiguration", () => {
    expect(classifyCognitoFailure(sdkError("ResourceNotFoundException", 400))).toBe("misconfigured");
    expect(classifyCognitoFailure(sdkError("InvalidParameterException", 400))).toBe("misconfigured");
  });

  it("throttling asks for a longer Retry-After than a plain outage", () => {
    const throttled = toBffError(sdkError("TooManyRequestsException", 400), "InitiateAuth");
    const down = toBffError(sdkError("InternalErrorException", 500), "InitiateAuth");
    expect(throttled.retryAfterSeconds!).toBeGreaterThan(down.retryAfterSeconds!);
  });
});

describe("backoffMs", () => {
  it("grows exponentially with full jitter, longer for throttling, and is capped", async () => {
    const { backoffMs } = await import("../../src/cognito/cognito-gateway.js");
    const max = () => 0.999999;
    expect(backoffMs(1, false, max)).toBe(49);
    expect(backoffMs(2, false, max)).toBe(99);
    expect(backoffMs(1, true, max)).toBe(199);
    expect(backoffMs(20, true, max)).toBe(1999);
    expect(backoffMs(3, true, () => 0)).toBe(0);
  });
});
