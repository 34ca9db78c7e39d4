/**
 * Dependency faults, each with its documented answer, a bounded wait, and no
 * session lost: once the dependency recovers, the SAME cookie works.
 * Complements refresh-failures.test.ts (error codes) and
 * redis-coordination.test.ts (a Redis process killed and restarted).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { CookieJar } from "../helpers/cookie-jar.js";
import { CLIENT_ID, CLIENT_SECRET, signIn, signOut, startHarness, USER, type Harness } from "../helpers/harness.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const REDIS = new URL(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
const ADMIN_SECRET = "admin-secret-for-fault-tests-0123456789abc";
const DEADLINE_MS = 1000;
/** Loose: a bound on waiting, not a benchmark. */
const MARGIN_MS = 1500;

let h: Harness | undefined;
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const p of proxies.splice(0)) await p.close();
});

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await run();
  return { value, ms: performance.now() - started };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An expired session: the next /token must call Cognito. */
async function expired(h: Harness, jar: CookieJar): Promise<string> {
  h.emu.clock.advance(3600);
  return jar.header();
}

const tokenWith = (url: string, cookie: string) => fetch(`${url}/token`, { headers: { cookie, "x-csrf": "1" } });

describe("Cognito faults", () => {
  it("slow beyond the deadline: every one of 20 parallel requests (and /auth/session) is answered 503 within deadline + margin; then the same cookie works", async () => {
    h = await startHarness({ env: { COGNITO_TIMEOUT_MS: String(DEADLINE_MS) }, emulator: { accessTokenTtlSeconds: 3600 } });
    const jar = await signIn(h.bff.url);
    const cookie = await expired(h, jar);
    h.emu.fault("InitiateAuth", { delayMs: 10_000 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => timed(() => tokenWith(h!.bff.url, cookie))));
    for (const { value, ms } of answers) {
      expect(value.status).toBe(503);
      expect(value.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    }
    const session = await timed(() => fetch(`${h!.bff.url}/auth/session`, { headers: { cookie } }));
    expect(session.value.status).toBe(200);
    expect(session.ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    h.emu.clearFaults();
    expect((await tokenWith(h.bff.url, cookie)).status).toBe(200);
  });

  it.each([
    ["throttling (HTTP 429)", { error: { code: "ThrottlingException", status: 429 } }, "5"],
    ["a 502 from a load balancer", { error: { code: "BadGateway", status: 502 } }, "2"],
    ["a 503 ServiceUnavailable", { error: { code: "ServiceUnavailable", status: 503 } }, "2"],
    ["a reset connection", { drop: true }, "2"],
    ["malformed JSON", { malformed: true }, "2"],
    ["a delay followed by a reset", { delayMs: 300, drop: true }, "2"],
  ] as const)("%s: 503 temporarily_unavailable with Retry-After %s, the cookie untouched, then the same cookie works", async (_name, fault, retryAfter) => {
    h = await startHarness({ env: { COGNITO_TIMEOUT_MS: String(DEADLINE_MS) }, emulator: { accessTokenTtlSeconds: 3600 } });
    const jar = await signIn(h.bff.url);
    const cookie = await expired(h, jar);
    h.emu.fault("InitiateAuth", fault);
    const { value: res, ms } = await timed(() => tokenWith(h!.bff.url, cookie));
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "temporarily_unavailable", error_description: expect.any(String) });
    expect(res.headers.get("retry-after")).toBe(retryAfter);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    h.emu.clearFaults();
    expect((await tokenWith(h.bff.url, cookie)).status).toBe(200);
  });

  it("the Cognito endpoint unreachable (connections cut at TCP) and back: 503 within the deadline, then the same cookie works", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 } });
    const proxy = await startTcpProxy(Number(new URL(h.emu.url).port));
    proxies.push(proxy);
    const viaProxy = await h.startBff({ COGNITO_ENDPOINT: `http://127.0.0.1:${proxy.port}`, COGNITO_TIMEOUT_MS: String(DEADLINE_MS) });
    const jar = await signIn(viaProxy.url);
    const cookie = await expired(h, jar);
    proxy.cut();
    const { value: res, ms } = await timed(() => tokenWith(viaProxy.url, cookie));
    expect(res.status).toBe(503);
    expect(ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
    proxy.restore();
    expect((await tokenWith(viaProxy.url, cookie)).status).toBe(200);
  });
});

describe("Redis down and back (TCP proxy in front of the shared Redis)", () => {
  it("/token answers throughout; the metric shows the outage; an admin revocation during it is 503; after restore, coordination and revocation across replicas are back, and no session is lost", async () => {
    const proxy = await startTcpProxy(Number(REDIS.port || 6379), REDIS.hostname);
    proxies.push(proxy);
    // COGNITO_TIMEOUT_MS 500: the refresh lease is 1.5 s.
    h = await startHarness({ redisUrl: `redis://127.0.0.1:${proxy.port}`, env: { ADMIN_SECRET, COGNITO_TIMEOUT_MS: "500" }, emulator: { accessTokenTtlSeconds: 3600 } });
    const a = h.bff;
    const b = await h.startBff({ ADMIN_SECRET, COGNITO_TIMEOUT_MS: "500" });
    const jar = await signIn(a.url);
    await until(() => a.bff.coordinator.status().redis === "up" && b.bff.coordinator.status().redis === "up");

    proxy.cut();
    await until(() => a.bff.coordinator.status().redis === "down");
    // For one lease another replica may still be refreshing a token: a refresh answers 503 then, the session kept.
    const early = await tokenWith(a.url, await expired(h, jar));
    expect(early.status).toBe(503);
    expect(early.headers.get("retry-after")).toBe("1");
    await new Promise((r) => setTimeout(r, 1600));
    for (let i = 0; i < 3; i++) {
      const cookie = await expired(h, jar);
      const { value: res, ms } = await timed(() => tokenWith(i % 2 ? b.url : a.url, cookie));
      expect(res.status).toBe(200);
      expect(ms).toBeLessThan(1500);
      jar.store(res);
    }
    expect(await fetch(`${a.url}/metrics`).then((r) => r.text())).toMatch(/^bff_redis_unavailable 1$/m);
    // Another user's revocation: it holds on this replica, but cannot reach the others, so the admin is told to retry.
    const during = await fetch(`${a.url}/admin/users/another-user-sub/sessions/revoke`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_SECRET}` } });
    expect(during.status).toBe(503);
    expect(during.headers.get("retry-after")).toBe("2");
    expect(((await during.json()) as { error: string }).error).toBe("temporarily_unavailable");

    proxy.restore();
    await until(() => a.bff.coordinator.status().redis === "up" && b.bff.coordinator.status().redis === "up", 10_000);
    expect(await fetch(`${a.url}/metrics`).then((r) => r.text())).toMatch(/^bff_redis_unavailable 0$/m);
    // The same session on both replicas; one refresh for both once Redis coordinates again.
    const cookie = await expired(h, jar);
    h.emu.resetCalls();
    const both = await Promise.all([tokenWith(a.url, cookie), tokenWith(b.url, cookie)]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(h.emu.calls("InitiateAuth")).toBe(1);

    // Revocation works across replicas again.
    expect((await fetch(`${a.url}/admin/users/${USER.username}/sessions/revoke`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_SECRET}` } })).status).toBe(200);
    await until(async () => (await tokenWith(b.url, cookie)).status === 401, 2000);
  });
});

describe("sign-out revokes at Cognito in awkward states", () => {
  it("with a session large enough for three cookie chunks, and with the access token already expired", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 } });
    const big = {
      username: "5c1d9e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
      email: "big@example.com",
      password: "Large-Cookie-42",
      emailVerified: true,
      attributes: Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`custom:attr${i}`, "v".repeat(300)])),
    };
    h.emu.addUser(big);
    const jar = await signIn(h.bff.url, big);
    const names = jar.sessionCookieNames();
    expect(names.length).toBeGreaterThanOrEqual(3);
    const refreshToken = (await h.bff.bff.sessions.read(jar.header())).session!.refresh_token;
    h.emu.clock.advance(3600);

    const res = await signOut(h.bff.url, jar);
    expect(res.status).toBe(302);
    expect(h.emu.refreshTokenState(refreshToken)).toBe("revoked");
    expect(h.emu.calls("RevokeToken")).toBe(1);
    const cleared = res.headers.getSetCookie().filter((c) => /session-token/.test(c) && /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)).map((c) => c.split("=")[0]);
    expect(new Set(cleared)).toEqual(new Set(names));
    expect(jar.sessionCookieNames()).toEqual([]);
  });

  it("when RevokeToken fails transiently, sign-out still clears the session, and the failure is logged without the token", async () => {
    h = await startHarness({ env: { COGNITO_MAX_ATTEMPTS: "1" } });
    const jar = await signIn(h.bff.url);
    const refreshToken = (await h.bff.bff.sessions.read(jar.header())).session!.refresh_token;
    h.emu.fault("RevokeToken", { error: { code: "InternalErrorException" } });
    const res = await signOut(h.bff.url, jar);
    expect(res.status).toBe(302);
    expect(jar.sessionCookieNames()).toEqual([]);
    const logs = h.bff.logs.join("\n");
    expect(logs).toContain("refresh token NOT revoked at Cognito");
    expect(logs).not.toContain(refreshToken);
    expect(logs).not.toContain(CLIENT_SECRET);
    expect(CLIENT_ID).toBeTruthy();
  });

  it("when token revocation is off on the app client, sign-out still ends the session, and the failure is an error that is counted and says how to fix it", async () => {
    h = await startHarness({ client: { tokenRevocation: false } });
    const jar = await signIn(h.bff.url);
    const refreshToken = (await h.bff.bff.sessions.read(jar.header())).session!.refresh_token;
    const res = await signOut(h.bff.url, jar);
    expect(res.status).toBe(302);
    expect(jar.sessionCookieNames()).toEqual([]);
    // Cognito kept it: that is what the error line and the counter are for.
    expect(h.emu.refreshTokenState(refreshToken)).toBe("active");
    const line = h.bff.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "refresh token NOT revoked at Cognito: it stays valid until it expires");
    expect(line).toMatchObject({ level: 50, reason: "sign-out", code: "UnsupportedOperationException" });
    expect(String(line!.hint)).toContain("EnableTokenRevocation");
    const counted = (await h.bff.bff.metrics.revocationFailures.get()).values;
    expect(counted).toEqual([{ labels: { reason: "sign-out", code: "UnsupportedOperationException" }, value: 1 }]);
    expect(h.bff.logs.join("\n")).not.toContain(refreshToken);
  });
});
