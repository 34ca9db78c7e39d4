/**
 * SESSION_STORE=redis through the real HTTP interface and the real Redis: a
 * small opaque cookie, tokens sealed at rest, sessions shared by replicas and
 * ended everywhere at once, Redis outages that keep the session, the move from
 * cookie sessions, and the user's own list of sessions.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, signIn, signOut, startHarness, TEST_SECRET, USER, type Bff, type Harness, replay, within } from "../helpers/harness.js";
import { startOwnRedis, type OwnRedis } from "../helpers/redis-server.js";

const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const REDIS_STORE = { SESSION_STORE: "redis" };
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const CHROME = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

let h: Harness | undefined;
let own: OwnRedis | undefined;
afterEach(async () => {
  await h?.close();
  await own?.close();
  h = undefined;
  own = undefined;
});

function sessionsOf(jar: CookieJar, bff: Bff, init: RequestInit = {}, path = "/auth/sessions"): Promise<Response> {
  return jar.fetch(`${bff.url}${path}`, { ...init, headers: { "x-csrf": "1", ...(init.headers as Record<string, string>) } });
}

async function redisDump(prefix: string): Promise<string> {
  const client = new Redis(REDIS);
  try {
    const keys = await client.keys(`${prefix}*`);
    const values = await Promise.all(keys.map(async (key) => ((await client.type(key)) === "hash" ? JSON.stringify(await client.hgetall(key)) : await client.get(key))));
    return `${keys.join("\n")}\n${values.join("\n")}`;
  } finally {
    client.disconnect();
  }
}

describe("SESSION_STORE=redis", () => {
  it("the cookie is one opaque ticket under 200 bytes with today's attributes; /token and /auth/session work", async () => {
    h = await startHarness({ redisUrl: REDIS, env: REDIS_STORE });
    let setCookie: string[] = [];
    const jar = await signIn(h.bff.url, USER, new CookieJar(), async (step, response) => {
      if (step === "callback") setCookie = response.headers.getSetCookie().filter((c) => c.startsWith("authjs.session-token"));
    });
    expect(setCookie).toHaveLength(1);
    expect(setCookie[0]).toMatch(/; HttpOnly/i);
    expect(setCookie[0]).toMatch(/; SameSite=Lax/i);
    expect(setCookie[0]).toMatch(/; Path=\//i);
    expect(jar.sessionCookieNames()).toEqual(["authjs.session-token"]);
    const value = jar.cookies.get("authjs.session-token")!;
    expect(value).toMatch(/^v1\.[\w-]{8}\.[\w-]{22}\.[\w-]{22}$/);
    expect(`authjs.session-token=${value}`.length).toBeLessThan(200);
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token: string }).access_token).toMatch(/^eyJ/);
    expect(await (await jar.fetch(`${h.bff.url}/auth/session`)).json()).toMatchObject({ user: { id: USER.username } });
  });

  it("Redis holds the tokens sealed: no token in a dump, and AUTH_SECRET alone does not open them", async () => {
    h = await startHarness({ redisUrl: REDIS, env: REDIS_STORE });
    const jar = await signIn(h.bff.url);
    const { session } = await h.bff.bff.sessions.read(jar.header());
    const dump = await redisDump(h.redisPrefix);
    for (const token of [session!.access_token, session!.refresh_token, session!.id_token!]) expect(dump).not.toContain(token.slice(0, 40));
    // The same id with a forged secret: AUTH_SECRET is the same, the ticket's secret is not.
    const forged = jar.cookies.get("authjs.session-token")!.replace(/\.[\w-]{22}$/, `.${"A".repeat(22)}`);
    expect((await replay(h.bff, `authjs.session-token=${forged}`)).status).toBe(401);
    expect(TEST_SECRET).toBeTruthy();
  });

  it("three replicas share the sessions; sign-out on one ends every copy on all of them at once", async () => {
    h = await startHarness({ redisUrl: REDIS, env: REDIS_STORE });
    const replicas = [h.bff, await h.startBff(REDIS_STORE), await h.startBff(REDIS_STORE)];
    const jar = await signIn(h.bff.url);
    const copy = jar.header();
    for (const replica of replicas) expect((await replay(replica, copy)).status).toBe(200);
    expect((await signOut(replicas[1]!.url, jar)).status).toBe(302);
    for (const replica of replicas) {
      // Each replica held a copy of the session: the deletion's notice drops it.
      expect(await within(1000, async () => (await replay(replica, copy)).status === 401)).toBeLessThan(1000);
      const res = await replay(replica, copy);
      expect(res.status).toBe(401);
      expect(await fetch(`${replica.url}/auth/session`, { headers: { cookie: copy } }).then((r) => r.json())).toBeNull();
    }
  });

  it("while Redis is down: 503 with Retry-After and the cookie kept on /token, /token/refresh and /auth/session; 200 once it is back", async () => {
    own = await startOwnRedis({ appendOnly: true });
    h = await startHarness({ redisUrl: own.url, env: REDIS_STORE });
    const jar = await signIn(h.bff.url);
    expect((await callToken(jar, h.bff.url)).status).toBe(200); // the replica now holds a copy of the session
    const before = jar.header();
    await own.stop();
    for (const [path, method] of [["/token", "GET"], ["/token/refresh", "POST"], ["/auth/session", "GET"]] as const) {
      const res = await jar.fetch(`${h.bff.url}${path}`, { method, headers: { "x-csrf": "1" } });
      expect(res.status, path).toBe(503);
      expect(Number(res.headers.get("retry-after")), path).toBeGreaterThan(0);
      expect(res.headers.getSetCookie(), path).toEqual([]);
      expect(await res.json(), path).toMatchObject({ error: "temporarily_unavailable" });
    }
    expect(jar.header()).toBe(before);
    await own.start();
    const deadline = Date.now() + 8000;
    let status = 0;
    while (Date.now() < deadline && (status = (await callToken(jar, h.bff.url)).status) !== 200) await new Promise((r) => setTimeout(r, 100));
    expect(status).toBe(200);
  });

  it("a session made in cookie mode moves into Redis at its next use, without signing anyone out", async () => {
    h = await startHarness({ redisUrl: REDIS });
    const jar = await signIn(h.bff.url); // SESSION_STORE=cookie: the tokens are in the (chunked) cookie
    const oldNames = jar.sessionCookieNames();
    expect(oldNames.length).toBeGreaterThanOrEqual(1);
    const redisReplica = await h.startBff(REDIS_STORE);
    const res = await callToken(jar, redisReplica.url);
    expect(res.status).toBe(200);
    expect(jar.sessionCookieNames()).toEqual(["authjs.session-token"]);
    expect(jar.cookies.get("authjs.session-token")).toMatch(/^v1\./);
    expect((await callToken(jar, redisReplica.url)).status).toBe(200);
    // The same through Auth.js's own route.
    const other = await signIn(h.bff.url);
    expect(await (await other.fetch(`${redisReplica.url}/auth/session`)).json()).toMatchObject({ user: { id: USER.username } });
    expect(other.cookies.get("authjs.session-token")).toMatch(/^v1\./);
  });
});

describe("the user's own sessions (GET /auth/sessions, DELETE /auth/sessions/{id})", () => {
  it("lists the user's sessions with the current one marked, and ends another one (that browser is signed out)", async () => {
    h = await startHarness({ redisUrl: REDIS, env: REDIS_STORE });
    const laptop = await signIn(h.bff.url, USER, new CookieJar(FIREFOX));
    const phone = await signIn(h.bff.url, USER, new CookieJar(CHROME));
    const res = await sessionsOf(laptop, h.bff);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const { sessions } = (await res.json()) as { sessions: Array<{ id: string; current: boolean; user_agent?: string; created_at: number; last_used_at: number }> };
    expect(sessions).toHaveLength(2);
    const mine = sessions.find((s) => s.current)!;
    const other = sessions.find((s) => !s.current)!;
    expect(mine.user_agent).toBe("Firefox 128 on Linux");
    expect(other.user_agent).toBe("Chrome 131 on macOS");
    expect(mine.id).toMatch(/^[\w-]{22}$/);
    expect(mine.created_at).toBeGreaterThan(0);

    const ended = await sessionsOf(laptop, h.bff, { method: "DELETE" }, `/auth/sessions/${other.id}`);
    expect(ended.status).toBe(204);
    expect((await callToken(phone, h.bff.url)).status).toBe(401);
    expect((await callToken(laptop, h.bff.url)).status).toBe(200);
    const after = (await (await sessionsOf(laptop, h.bff)).json()) as { sessions: unknown[] };
    expect(after.sessions).toHaveLength(1);
    // The phone's refresh token was revoked at Cognito.
    expect(h.emu.calls("RevokeToken")).toBe(1);
  });

  it("an unknown id is 404; no X-CSRF is 403; no session is 401; in cookie mode the endpoints do not exist", async () => {
    h = await startHarness({ redisUrl: REDIS, env: REDIS_STORE });
    const jar = await signIn(h.bff.url);
    expect((await sessionsOf(jar, h.bff, { method: "DELETE" }, `/auth/sessions/${"x".repeat(22)}`)).status).toBe(404);
    expect((await jar.fetch(`${h.bff.url}/auth/sessions`)).status).toBe(403);
    expect((await sessionsOf(new CookieJar(), h.bff)).status).toBe(401);
    const cookieMode = await h.startBff({ SESSION_STORE: "cookie" });
    expect((await sessionsOf(await signIn(cookieMode.url), cookieMode)).status).toBe(404);
  });
});

describe("sign out everywhere with SESSION_STORE=redis", () => {
  it("without the admin scope every stored session is deleted and each of their refresh tokens revoked with RevokeToken", async () => {
    h = await startHarness({ redisUrl: REDIS, env: REDIS_STORE });
    const laptop = await signIn(h.bff.url);
    const phone = await signIn(h.bff.url);
    const phoneToken = (await h.bff.bff.sessions.read(phone.header())).session!.refresh_token;
    expect((await signOut(h.bff.url, laptop, undefined, { everywhere: "true" })).status).toBe(302);
    expect(h.emu.calls("GlobalSignOut")).toBe(1);
    expect(h.emu.calls("RevokeToken")).toBe(2);
    expect(h.emu.refreshTokenState(phoneToken)).toBe("revoked");
    expect((await callToken(phone, h.bff.url)).status).toBe(401);
    const dump = await redisDump(h.redisPrefix);
    expect(dump).not.toMatch(/(^|\n)[^\n]*s:\{/);
  });
});
