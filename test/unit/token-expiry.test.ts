import { UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { accessTokenExpiry, expClaim } from "../../src/cognito/token-expiry.js";

const NOW = 1_800_000_000;
const jwt = (claims: Record<string, unknown>) => new UnsecuredJWT(claims).encode();

describe("accessTokenExpiry", () => {
  it("is the token's exp when the answer's lifetime is longer or missing", () => {
    expect(accessTokenExpiry(jwt({ exp: NOW + 120 }), 3600, NOW)).toBe(NOW + 120);
    expect(accessTokenExpiry(jwt({ exp: NOW + 120 }), undefined, NOW)).toBe(NOW + 120);
  });

  it("is now + expires_in when that is earlier than exp", () => {
    expect(accessTokenExpiry(jwt({ exp: NOW + 3600 }), 300, NOW)).toBe(NOW + 300);
  });

  it("falls back to expires_in for a token without a usable exp, and is undefined with neither", () => {
    expect(accessTokenExpiry("opaque", 3600, NOW)).toBe(NOW + 3600);
    expect(accessTokenExpiry(jwt({ exp: "soon" }), 60, NOW)).toBe(NOW + 60);
    expect(accessTokenExpiry("opaque", undefined, NOW)).toBeUndefined();
    expect(accessTokenExpiry(jwt({}), 0, NOW)).toBeUndefined();
    expect(accessTokenExpiry(jwt({}), -5, NOW)).toBeUndefined();
  });

  it("reads exp only when it is a positive finite number", () => {
    expect(expClaim(jwt({ exp: NOW }))).toBe(NOW);
    expect(expClaim(jwt({ exp: 0 }))).toBeUndefined();
    expect(expClaim("not.a.jwt")).toBeUndefined();
  });
});
