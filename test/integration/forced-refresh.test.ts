/**
 * Issue 13 (security round 2), item 3: `POST /token/refresh` answers a token Cognito issued after the
 * caller's, and makes at most one Cognito call per session per REFRESH_MIN_INTERVAL_SECONDS (default 10);
 * a stored refresh result answers only a caller it is newer than, with enough life left.
 * Regressions: 50 forced refreshes with rotation made 50 Cognito calls; without rotation a forced refresh
 * answered the caller's own token from the result cache; with REFRESH_RESULT_TTL_SECONDS=600 and 300 s
 * tokens, GET /token answered `expires_in: 0` for minutes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { callToken, replay, signIn, startHarness, type Harness } from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface TokenBody {
  access_token: string;
  expires_in: number;
}

const ROTATION = { client: { rotation: { enabled: true, gracePeriodSeconds: 0 } }, env: { COGNITO_REFRESH_TOKEN_ROTATION: "true" } };
const refreshCalls = (rotation: boolean) => h!.emu.calls(rotation ? "GetTokensFromRefreshToken" : "InitiateAuth");

describe("POST /token/refresh: forced means new, and at most one Cognito call per session per interval", () => {
  it("with rotation, 50 forced refreshes at once and 50 more in a row make one Cognito call, and every answer is the one new token", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 }, ...ROTATION });
    const jar = await signIn(h.bff.url);
    const before = ((await (await callToken(jar, h.bff.url)).json()) as TokenBody).access_token;
    h.emu.clock.advance(11);

    const burst = await Promise.all(Array.from({ length: 50 }, () => callToken(jar, h!.bff.url, "/token/refresh", { method: "POST" })));
    const sequential: Response[] = [];
    for (let i = 0; i < 50; i++) sequential.push(await callToken(jar, h.bff.url, "/token/refresh", { method: "POST" }));

    const answers = [...burst, ...sequential];
    expect(answers.map((r) => r.status)).toEqual(Array(100).fill(200));
    const tokens = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as TokenBody).access_token)));
    expect(tokens.size).toBe(1);
    expect(tokens.has(before)).toBe(false);
    expect(refreshCalls(true)).toBe(1);
    const { session } = await h.bff.bff.sessions.read(jar.header());
    expect(h.emu.refreshTokenState(session!.refresh_token)).toBe("active");
  });

  it("without rotation, 50 forced refreshes at once answer a token other than the caller's (not the cached result it came from), with one Cognito call", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 } });
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    // An expiry refresh stores its result (keyed by the refresh token, which does not change) for 60 s.
    const current = ((await (await callToken(jar, h.bff.url)).json()) as TokenBody).access_token;
    expect(refreshCalls(false)).toBe(1);
    h.emu.clock.advance(11);

    const answers = await Promise.all(Array.from({ length: 50 }, () => replay(h!.bff, jar.header(), "/token/refresh", "POST")));
    expect(answers.map((r) => r.status)).toEqual(Array(50).fill(200));
    const tokens = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as TokenBody).access_token)));
    expect(tokens.size).toBe(1);
    expect(tokens.has(current)).toBe(false);
    expect(refreshCalls(false)).toBe(2);
  });

  it.each([false, true])(
    "a second forced refresh within REFRESH_MIN_INTERVAL_SECONDS answers the current token without calling Cognito; after it, a new one (rotation %s)",
    async (rotation) => {
      h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 }, ...(rotation ? ROTATION : {}) });
      const jar = await signIn(h.bff.url);
      h.emu.clock.advance(11);
      const first = await callToken(jar, h.bff.url, "/token/refresh", { method: "POST" });
      const firstToken = ((await first.json()) as TokenBody).access_token;
      expect(refreshCalls(rotation)).toBe(1);

      h.emu.clock.advance(9);
      const within = await callToken(jar, h.bff.url, "/token/refresh", { method: "POST" });
      expect(within.status).toBe(200);
      expect(((await within.json()) as TokenBody).access_token).toBe(firstToken);
      expect(within.headers.getSetCookie()).toEqual([]);
      expect(refreshCalls(rotation)).toBe(1);

      h.emu.clock.advance(2);
      const after = await callToken(jar, h.bff.url, "/token/refresh", { method: "POST" });
      expect(after.status).toBe(200);
      expect(((await after.json()) as TokenBody).access_token).not.toBe(firstToken);
      expect(refreshCalls(rotation)).toBe(2);
    },
  );
});

describe("a stored refresh result answers only a caller it is newer than, with enough life left", () => {
  it("REFRESH_RESULT_TTL_SECONDS=600 with 300 s tokens: a copy of the old cookie never gets expires_in 0; a new refresh happens instead", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 300 }, env: { REFRESH_RESULT_TTL_SECONDS: "600" } });
    const jar = await signIn(h.bff.url);
    const old = jar.header();
    h.emu.clock.advance(300);
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
    expect(refreshCalls(false)).toBe(1);

    const lifetimes: number[] = [];
    for (let step = 0; step < 5; step++) {
      h.emu.clock.advance(100);
      const res = await replay(h.bff, old);
      expect(res.status).toBe(200);
      lifetimes.push(((await res.json()) as TokenBody).expires_in);
    }
    // The skew is 60 s: a result with less left is not handed out.
    expect(lifetimes.every((seconds) => seconds > 60), String(lifetimes)).toBe(true);
    expect(refreshCalls(false)).toBe(2);
  });
});
