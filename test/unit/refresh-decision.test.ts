import { describe, expect, it } from "vitest";
import { isRefreshDue, refreshTokenKey } from "../../src/refresh/token-refresher.js";

const tokens = { issued_at: 1_000, expires_at: 4_600 }; // one hour

describe("isRefreshDue", () => {
  it("keeps a token with more than the skew left", () => {
    expect(isRefreshDue(tokens, 4_600 - 61, { skewSeconds: 60 })).toBe(false);
  });
  it("refreshes within the skew and after expiry", () => {
    expect(isRefreshDue(tokens, 4_600 - 60, { skewSeconds: 60 })).toBe(true);
    expect(isRefreshDue(tokens, 5_000, { skewSeconds: 60 })).toBe(true);
  });
  it("refreshes when fewer than min_ttl seconds remain", () => {
    expect(isRefreshDue(tokens, 4_600 - 600, { skewSeconds: 60, minTtlSeconds: 900 })).toBe(true);
    expect(isRefreshDue(tokens, 4_600 - 1000, { skewSeconds: 60, minTtlSeconds: 900 })).toBe(false);
  });
  it("caps min_ttl at half the token lifetime so a fresh token is not refreshed on every call", () => {
    expect(isRefreshDue(tokens, 1_001, { skewSeconds: 60, minTtlSeconds: 86_400 })).toBe(false);
    expect(isRefreshDue(tokens, 2_800, { skewSeconds: 60, minTtlSeconds: 86_400 })).toBe(true);
  });
  it("does not add expires_at to the current time (the Auth.js recipe bug)", () => {
    const nowSeconds = 1_700_000_000;
    expect(isRefreshDue({ issued_at: nowSeconds - 3600, expires_at: nowSeconds - 1 }, nowSeconds, { skewSeconds: 0 })).toBe(true);
  });
});

describe("refreshTokenKey", () => {
  it("is stable, distinct per token, and does not contain the token", () => {
    const token = "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIn0.secret-part";
    expect(refreshTokenKey(token)).toBe(refreshTokenKey(token));
    expect(refreshTokenKey(token)).not.toBe(refreshTokenKey(`${token}x`));
    expect(refreshTokenKey(token)).not.toContain("secret-part");
  });
});
