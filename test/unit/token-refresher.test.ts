import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { SessionTokens } from "../../src/auth/session-payload.js";
import type { CognitoGateway, RefreshRequest, RefreshedTokens } from "../../src/cognito/cognito-gateway.js";
import { BffError } from "../../src/errors.js";
import { createMetrics } from "../../src/metrics.js";
import { createLocalCoordinator } from "../../src/refresh/refresh-coordinator.js";
import { createTokenRefresher, isAcceptableResult, isIssuedAfter } from "../../src/refresh/token-refresher.js";

const NOW = 1_800_000_000_000;
const expired: SessionTokens = {
  access_token: "old-at",
  refresh_token: "rt-1",
  expires_at: NOW / 1000 - 5,
  issued_at: NOW / 1000 - 3605,
  cognito_username: "3f0c-uuid",
  cognito_sub: "3f0c-uuid",
};

function gateway(answer: (req: RefreshRequest) => Promise<RefreshedTokens>) {
  const calls: RefreshRequest[] = [];
  const cognito: CognitoGateway = {
    refreshTokens: (req) => {
      calls.push(req);
      return answer(req);
    },
    revokeToken: async () => {},
    globalSignOut: async () => {},
    destroy: () => {},
  };
  return { cognito, calls };
}

const refresherWith = (cognito: CognitoGateway, resultTtlSeconds = 60) =>
  createTokenRefresher({
    cognito,
    coordinator: createLocalCoordinator({ now: () => NOW, resultTtlSeconds }),
    now: () => NOW,
    skewSeconds: 60,
    log: pino({ level: "silent" }),
    metrics: createMetrics(),
  });

describe("token refresher", () => {
  it("does not call Cognito while the token is valid", async () => {
    const { cognito, calls } = gateway(async () => {
      throw new Error("unexpected");
    });
    const valid = { ...expired, expires_at: NOW / 1000 + 600 };
    expect(await refresherWith(cognito).ensureFresh(valid)).toEqual({ tokens: valid, changed: false });
    expect(calls).toHaveLength(0);
  });

  it("refreshes with the Cognito username and keeps the refresh token when Cognito does not rotate it", async () => {
    const { cognito, calls } = gateway(async () => ({ accessToken: "new-at", idToken: "new-id", refreshToken: undefined, expiresInSeconds: 3600, tokenType: "Bearer" }));
    const { tokens, changed } = await refresherWith(cognito).ensureFresh(expired);
    expect(changed).toBe(true);
    expect(calls).toEqual([{ refreshToken: "rt-1", username: "3f0c-uuid" }]);
    expect(tokens).toMatchObject({ access_token: "new-at", id_token: "new-id", refresh_token: "rt-1", expires_at: NOW / 1000 + 3600 });
  });

  it("stores a rotated refresh token", async () => {
    const { cognito } = gateway(async () => ({ accessToken: "new-at", idToken: undefined, refreshToken: "rt-2", expiresInSeconds: 3600, tokenType: "Bearer" }));
    expect((await refresherWith(cognito).ensureFresh(expired)).tokens.refresh_token).toBe("rt-2");
  });

  it("shares one Cognito call among concurrent refreshes of the same refresh token", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { cognito, calls } = gateway(async () => {
      await gate;
      return { accessToken: "new-at", idToken: undefined, refreshToken: "rt-2", expiresInSeconds: 3600, tokenType: "Bearer" };
    });
    const refresher = refresherWith(cognito);
    const all = Promise.all(Array.from({ length: 20 }, () => refresher.ensureFresh(expired)));
    release();
    const results = await all;
    expect(calls).toHaveLength(1);
    expect(new Set(results.map((r) => r.tokens.access_token))).toEqual(new Set(["new-at"]));
  });

  it("answers a late request with the old refresh token from the recent result instead of calling Cognito again", async () => {
    const { cognito, calls } = gateway(async () => ({ accessToken: "new-at", idToken: undefined, refreshToken: "rt-2", expiresInSeconds: 3600, tokenType: "Bearer" }));
    const refresher = refresherWith(cognito);
    await refresher.ensureFresh(expired);
    const late = await refresher.ensureFresh(expired);
    expect(late.tokens).toMatchObject({ access_token: "new-at", refresh_token: "rt-2" });
    expect(calls).toHaveLength(1);
  });

  it("gives every waiter the same classified error, and the next call tries again", async () => {
    let fail = true;
    const { cognito, calls } = gateway(async () => {
      if (fail) throw new BffError("temporarily_unavailable", { retryAfterSeconds: 2 });
      return { accessToken: "new-at", idToken: undefined, refreshToken: undefined, expiresInSeconds: 3600, tokenType: "Bearer" };
    });
    const refresher = refresherWith(cognito);
    const settled = await Promise.allSettled([refresher.ensureFresh(expired), refresher.ensureFresh(expired)]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected"]);
    expect(settled.map((s) => (s as PromiseRejectedResult).reason.code)).toEqual(["temporarily_unavailable", "temporarily_unavailable"]);
    fail = false;
    expect((await refresher.ensureFresh(expired)).tokens.access_token).toBe("new-at");
    expect(calls).toHaveLength(2);
  });

  it("a forced refresh of a token younger than the minimum interval (10 s) answers that token without calling Cognito", async () => {
    const { cognito, calls } = gateway(async () => ({ accessToken: "new-at", idToken: undefined, refreshToken: undefined, expiresInSeconds: 3600, tokenType: "Bearer" }));
    const young = { ...expired, issued_at: NOW / 1000 - 9, expires_at: NOW / 1000 + 3591 };
    expect(await refresherWith(cognito).ensureFresh(young, { force: true })).toEqual({ tokens: young, changed: false });
    expect(calls).toHaveLength(0);
  });

  it("a forced refresh is not answered by a cached result that is the caller's own token: it calls Cognito", async () => {
    let n = 0;
    const { cognito, calls } = gateway(async () => ({ accessToken: `at-${++n}`, idToken: undefined, refreshToken: undefined, expiresInSeconds: 3600, tokenType: "Bearer" }));
    let now = NOW;
    const refresher = createTokenRefresher({
      cognito,
      coordinator: createLocalCoordinator({ now: () => now, resultTtlSeconds: 60 }),
      now: () => now,
      skewSeconds: 60,
      log: pino({ level: "silent" }),
      metrics: createMetrics(),
    });
    const first = await refresher.ensureFresh(expired);
    now += 11_000;
    const forced = await refresher.ensureFresh(first.tokens, { force: true });
    expect(forced.tokens.access_token).toBe("at-2");
    expect(calls).toHaveLength(2);
  });

  it("forces a refresh of a valid token when asked", async () => {
    const { cognito, calls } = gateway(async () => ({ accessToken: "new-at", idToken: undefined, refreshToken: undefined, expiresInSeconds: 3600, tokenType: "Bearer" }));
    await refresherWith(cognito).ensureFresh({ ...expired, expires_at: NOW / 1000 + 3000 }, { force: true });
    expect(calls).toHaveLength(1);
  });
});

describe("which shared refresh result answers a caller", () => {
  const mine = { access_token: "mine", expires_at: 1000, issued_at: 700 };
  it("only one Cognito issued after the caller's token", () => {
    expect(isIssuedAfter({ access_token: "other", expires_at: 1100, issued_at: 800 }, mine)).toBe(true);
    expect(isIssuedAfter({ access_token: "other", expires_at: 1001, issued_at: 700 }, mine)).toBe(true);
    expect(isIssuedAfter({ access_token: "other", expires_at: 900, issued_at: 600 }, mine)).toBe(false);
    expect(isIssuedAfter({ ...mine, issued_at: 800 }, mine)).toBe(false);
  });

  it("only one with more than the caller's skew or min_ttl left", () => {
    const session = { ...expired, access_token: "mine", expires_at: 1000, issued_at: 700 };
    const result = { access_token: "new", refresh_token: "rt-1", expires_at: 1300, issued_at: 1000 };
    expect(isAcceptableResult(result, session, 1200, { skewSeconds: 60 })).toBe(true);
    expect(isAcceptableResult(result, session, 1240, { skewSeconds: 60 })).toBe(false);
    expect(isAcceptableResult(result, session, 1200, { skewSeconds: 60, minTtlSeconds: 120 })).toBe(false);
  });
});
