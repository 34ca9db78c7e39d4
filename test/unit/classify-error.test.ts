import { describe, expect, it } from "vitest";
import { classifyCognitoFailure, toBffError } from "../../src/cognito/classify-error.js";

const sdkError = (name: string, status: number, message = "", fault: "client" | "server" = status >= 500 ? "server" : "client") =>
  Object.assign(new Error(message), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe("classifyCognitoFailure", () => {
  it.each([
    ["NotAuthorizedException", 400, "Refresh Token has been revoked"],
    ["NotAuthorizedException", 400, "Invalid Refresh Token"],
    ["RefreshTokenReuseException", 400, "Refresh token has been reused"],
    ["UserNotFoundException", 400, "User does not exist."],
  ])("a rejected refresh token (%s: %s) ends the session", (name, status, message) => {
    expect(classifyCognitoFailure(sdkError(name, status, message))).toBe("rejected");
    expect(toBffError(sdkError(name, status, message), "InitiateAuth").code).toBe("session_expired");
  });

  it.each([
    ["TooManyRequestsException", 400],
    ["LimitExceededException", 400],
    ["InternalErrorException", 500],
    ["SomethingNew", 503],
  ])("%s (HTTP %i) is transient and keeps the session", (name, status) => {
    const error = toBffError(sdkError(name, status), "InitiateAuth");
    expect(error.code).toBe("temporarily_unavailable");
    expect(error.status).toBe(503);
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
  });

  it("network failures and timeouts are transient", () => {
    expect(classifyCognitoFailure(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe("transient");
    expect(classifyCognitoFailure(Object.assign(new Error("aborted"), { name: "AbortError" }))).toBe("transient");
    expect(classifyCognitoFailure(Object.assign(new Error("t"), { name: "TimeoutError" }))).toBe("transient");
  });

  it("a bad SECRET_HASH is our misconfiguration, not the user's: 500 and the session is kept", () => {
    const error = sdkError("NotAuthorizedException", 400, "Unable to verify secret hash for client abc");
    expect(classifyCognitoFailure(error)).toBe("misconfigured");
    expect(toBffError(error, "InitiateAuth").code).toBe("internal_error");
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
