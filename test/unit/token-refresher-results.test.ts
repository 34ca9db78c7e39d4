/**
 * What a refresh leaves in the session: the fields Cognito answered replace the session's, the ones it did not
 * answer (an IdToken, a rotated refresh token) are kept, nothing else of the session changes; and what it
 * counts and logs (never a token).
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { SessionTokens } from "../../src/auth/session-payload.js";
import type { CognitoGateway, RefreshedTokens } from "../../src/cognito/cognito-gateway.js";
import { createMetrics, type Metrics } from "../../src/metrics.js";
import { createLocalCoordinator } from "../../src/refresh/refresh-coordinator.js";
import { createTokenRefresher, isIssuedAfter, isRefreshDue } from "../../src/refresh/token-refresher.js";
import type { SpanAttributes, Tracing } from "../../src/tracing.js";

const NOW = 1_800_000_000_000;
const NOW_S = NOW / 1000;
const session: SessionTokens & { name: string } = {
  access_token: "old-at",
  refresh_token: "rt-1",
  id_token: "old-id",
  expires_at: NOW_S - 5,
  issued_at: NOW_S - 3605,
  cognito_username: "3f0c-uuid",
  cognito_sub: "3f0c-uuid",
  name: "Ada",
};

const answer = (fields: Partial<RefreshedTokens> = {}): RefreshedTokens => ({ accessToken: "new-at", idToken: undefined, refreshToken: undefined, expiresInSeconds: 3600, tokenType: "Bearer", ...fields });

/** A JWT-shaped access token with only an `exp` claim (unsigned: the refresher reads, never verifies). */
const jwtWithExp = (exp: number) => `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ exp })).toString("base64url")}.`;

/** A tracer that records its spans: name, kind, attributes (those set later merged in) and whether it ended. */
function recordingTracing() {
  const spans: Array<{ name: string; kind: string; attributes: SpanAttributes; ended: boolean }> = [];
  const tracing: Tracing = {
    enabled: true,
    startServerSpan: () => {
      throw new Error("not used");
    },
    startSpan(name, kind, attributes) {
      const span = { name, kind, attributes: { ...attributes }, ended: false };
      spans.push(span);
      return {
        traceId: "0".repeat(32),
        setAttributes: (more) => Object.assign(span.attributes, more),
        updateName: () => {},
        fail: () => {},
        inject: () => {},
        end: () => (span.ended = true),
      };
    },
    withSpan: (_span, fn) => fn(),
    shutdown: async () => {},
  };
  return { tracing, spans };
}

function setup(result: () => Promise<RefreshedTokens>, options: { minIntervalSeconds?: number; tracing?: Tracing } = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = createMetrics();
  let calls = 0;
  const cognito: CognitoGateway = {
    refreshTokens: () => {
      calls += 1;
      return result();
    },
    revokeToken: async () => {},
    globalSignOut: async () => {},
    destroy: () => {},
  };
  const refresher = createTokenRefresher({ cognito, coordinator: createLocalCoordinator({ now: () => NOW, resultTtlSeconds: 60 }), now: () => NOW, skewSeconds: 60, log, metrics, ...options });
  return { refresher, lines, metrics, calls: () => calls };
}

async function counted(metrics: Metrics, name: string): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric(name)!.get();
  return Object.fromEntries(metric.values.map((v) => [Object.values(v.labels).join(","), v.value]));
}

describe("a refresh's result in the session", () => {
  it("a refresh that answers no IdToken keeps the session's id_token", async () => {
    const { tokens } = await setup(async () => answer()).refresher.ensureFresh(session);
    expect(tokens.id_token).toBe("old-id");
    expect(tokens.access_token).toBe("new-at");
  });

  it("a refresh that answers an IdToken replaces the session's", async () => {
    expect((await setup(async () => answer({ idToken: "new-id" })).refresher.ensureFresh(session)).tokens.id_token).toBe("new-id");
  });

  it("the session's own fields stay; Cognito's replace theirs; issued_at is now", async () => {
    const { tokens, changed } = await setup(async () => answer({ refreshToken: "rt-2" })).refresher.ensureFresh(session);
    expect(changed).toBe(true);
    expect(tokens).toEqual({ ...session, access_token: "new-at", refresh_token: "rt-2", expires_at: NOW_S + 3600, issued_at: NOW_S });
  });

  it("an access token that expired before now (a skewed Cognito clock) is issued no later than it expires", async () => {
    const { tokens } = await setup(async () => answer({ accessToken: jwtWithExp(NOW_S - 30), expiresInSeconds: undefined })).refresher.ensureFresh(session);
    expect(tokens).toMatchObject({ expires_at: NOW_S - 30, issued_at: NOW_S - 30 });
  });

  it("an access token with neither exp nor ExpiresIn is a 503 (retry in 2 s) that keeps the session, counted by its code", async () => {
    const { refresher, metrics } = setup(async () => answer({ expiresInSeconds: undefined }));
    await expect(refresher.ensureFresh(session)).rejects.toMatchObject({
      code: "temporarily_unavailable",
      retryAfterSeconds: 2,
      logDetail: "refresh answered an access token without exp and without ExpiresIn",
    });
    expect(await counted(metrics, "bff_refreshes_total")).toEqual({ temporarily_unavailable: 1 });
  });

  it("a failure without a code is counted as error", async () => {
    const { refresher, metrics } = setup(async () => {
      throw new Error("boom");
    });
    await expect(refresher.ensureFresh(session)).rejects.toThrow("boom");
    expect(await counted(metrics, "bff_refreshes_total")).toEqual({ error: 1 });
  });

  it("a refresh is counted ok and logged with the user, whether the refresh token rotated, and the lifetime; never a token", async () => {
    const { refresher, metrics, lines } = setup(async () => answer({ refreshToken: "rt-2", idToken: "new-id" }));
    await refresher.ensureFresh(session);
    expect(await counted(metrics, "bff_refreshes_total")).toEqual({ ok: 1 });
    const line = lines.find((l) => l.msg === "tokens refreshed");
    expect(line).toMatchObject({ user: "3f0c-uuid", rotated: true, expiresIn: 3600 });
    for (const secret of ["new-at", "rt-2", "new-id", "rt-1", "old-at"]) expect(JSON.stringify(lines)).not.toContain(secret);
    const { lines: unrotated } = await (async () => {
      const s = setup(async () => answer());
      await s.refresher.ensureFresh(session);
      return s;
    })();
    expect(unrotated.find((l) => l.msg === "tokens refreshed")).toMatchObject({ rotated: false });
  });

  it("a request served by another's refresh is counted as coalesced, by how; the one that refreshed is not", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { refresher, metrics, calls } = setup(async () => {
      await gate;
      return answer();
    });
    const both = Promise.all([refresher.ensureFresh(session), refresher.ensureFresh(session)]);
    release();
    await both;
    expect(calls()).toBe(1);
    expect(await counted(metrics, "bff_refresh_coalesced_total")).toEqual({ in_process: 1 });
  });
});

describe("a refresh under tracing", () => {
  it("is one internal span saying it was forced or not, how it was coordinated, and how this request got its tokens", async () => {
    const { tracing, spans } = recordingTracing();
    const s = setup(async () => answer(), { tracing });
    await s.refresher.ensureFresh({ ...session, issued_at: NOW_S - 100, expires_at: NOW_S + 3500 }, { force: true });
    expect(spans).toEqual([
      { name: "refresh tokens", kind: "internal", attributes: { "bff.refresh.forced": true, "bff.refresh.coordination": "local", "bff.refresh.via": "performed" }, ended: true },
    ]);
    await setup(async () => answer(), { tracing }).refresher.ensureFresh(session);
    expect(spans[1]!.attributes["bff.refresh.forced"]).toBe(false);
  });
});

describe("which result is newer than the caller's token", () => {
  const mine = { access_token: "mine", issued_at: 700, expires_at: 1000 };
  it.each([
    [{ access_token: "other", issued_at: 701, expires_at: 900 }, true],
    [{ access_token: "other", issued_at: 700, expires_at: 1001 }, true],
    [{ access_token: "other", issued_at: 700, expires_at: 1000 }, false],
    [{ access_token: "other", issued_at: 700, expires_at: 900 }, false],
    [{ access_token: "other", issued_at: 699, expires_at: 1100 }, false],
    [{ access_token: "other", issued_at: 699, expires_at: 900 }, false],
    [{ access_token: "mine", issued_at: 800, expires_at: 1100 }, false],
  ])("%o is newer: %s", (result, newer) => {
    expect(isIssuedAfter(result, mine)).toBe(newer);
  });
});

describe("when a refresh is due or forced", () => {
  it("a forced refresh runs once the token is exactly the minimum interval old", async () => {
    const s = setup(async () => answer(), { minIntervalSeconds: 10 });
    const tenSecondsOld = { ...session, issued_at: NOW_S - 10, expires_at: NOW_S + 3590 };
    expect((await s.refresher.ensureFresh(tenSecondsOld, { force: true })).changed).toBe(true);
    expect(s.calls()).toBe(1);
  });

  it("an unforced call with a valid token never calls Cognito, however old the token", async () => {
    const s = setup(async () => answer(), { minIntervalSeconds: 10 });
    const old = { ...session, issued_at: NOW_S - 1000, expires_at: NOW_S + 2600 };
    expect(await s.refresher.ensureFresh(old)).toEqual({ tokens: old, changed: false });
    expect(s.calls()).toBe(0);
  });

  it("min_ttl is passed on: a token with less left than asked is refreshed", async () => {
    const s = setup(async () => answer());
    const tenMinutesLeft = { ...session, issued_at: NOW_S - 3000, expires_at: NOW_S + 600 };
    expect((await s.refresher.ensureFresh(tenMinutesLeft, { minTtlSeconds: 900 })).changed).toBe(true);
    expect((await setup(async () => answer()).refresher.ensureFresh(tenMinutesLeft, { minTtlSeconds: 300 })).changed).toBe(false);
  });

  it("the threshold is half the lifetime when that is less than the skew; a token issued after its expiry counts as lifetime 0", () => {
    const short = { issued_at: 1000, expires_at: 1100 };
    expect(isRefreshDue(short, 1049, { skewSeconds: 60 })).toBe(false);
    expect(isRefreshDue(short, 1050, { skewSeconds: 60 })).toBe(true);
    expect(isRefreshDue({ issued_at: 1200, expires_at: 1100 }, 1099, { skewSeconds: 60 })).toBe(false);
    expect(isRefreshDue({ issued_at: 1200, expires_at: 1100 }, 1100, { skewSeconds: 60 })).toBe(true);
    expect(isRefreshDue({ issued_at: 1000, expires_at: 1101 }, 1050, { skewSeconds: 60 })).toBe(false);
  });
});
