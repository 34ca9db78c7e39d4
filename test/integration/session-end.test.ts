/**
 * A session ends when it is signed out or revoked: every copy of its cookie,
 * on every replica, within a second; and a Redis restart does not bring it
 * back. Attacked the way a thief would: the cookie is copied before sign-out
 * and replayed after it.
 */
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createSessionCodec } from "../../src/auth/session-codec.js";
import { writeSessionCookies } from "../../src/auth/session-cookies.js";
import { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, signIn, signOut, startHarness, TEST_SECRET, USER, type Bff, type Harness, replay, within } from "../helpers/harness.js";
import { startOwnRedis, type OwnRedis } from "../helpers/redis-server.js";

const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ADMIN_SECRET = "admin-secret-for-tests-0123456789abcdefXYZ";

let h: Harness | undefined;
let own: OwnRedis | undefined;
afterEach(async () => {
  await h?.close();
  await own?.close();
  h = undefined;
  own = undefined;
});

async function expectEnded(bff: Bff, cookie: string): Promise<void> {
  for (const [path, method] of [["/token", "GET"], ["/token/refresh", "POST"]] as const) {
    const res = await replay(bff, cookie, path, method);
    expect(res.status, `${method} ${path}`).toBe(401);
    expect(await res.json()).toMatchObject({ error: "session_expired" });
  }
  const session = await fetch(`${bff.url}/auth/session`, { headers: { cookie } });
  expect(await session.json()).toBeNull();
}

describe("sign-out ends every copy of the cookie", () => {
  it("on a single replica without Redis: a copy taken before sign-out is refused on /token, /token/refresh and /auth/session", async () => {
    h = await startHarness();
    const jar = await signIn(h.bff.url);
    const copy = jar.header();
    expect((await replay(h.bff, copy)).status).toBe(200);
    expect((await signOut(h.bff.url, jar)).status).toBe(302);
    await expectEnded(h.bff, copy);
  });

  it("across three replicas sharing Redis, every replica refuses the copy within 1 s", async () => {
    h = await startHarness({ redisUrl: REDIS });
    const replicas = [h.bff, await h.startBff(), await h.startBff()];
    const jar = await signIn(h.bff.url);
    const copy = jar.header();
    // Each replica has seen (and cached) the session before the sign-out.
    for (const replica of replicas) expect((await replay(replica, copy)).status).toBe(200);
    expect((await signOut(h.bff.url, jar)).status).toBe(302);
    for (const replica of replicas.slice(1)) {
      const ms = await within(1000, async () => (await replay(replica, copy)).status === 401);
      expect(ms).toBeLessThan(1000);
      await expectEnded(replica, copy);
    }
  });

  it("a copy from before a refresh is refused too, although its refresh token's result is still cached", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 } });
    const jar = await signIn(h.bff.url);
    const before = jar.header();
    h.emu.clock.advance(3600);
    expect((await callToken(jar, h.bff.url)).status).toBe(200); // refreshed; the jar holds the new cookie
    expect((await signOut(h.bff.url, jar)).status).toBe(302);
    await expectEnded(h.bff, before);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
  });

  it("a cookie from before session ids gets one at its next re-issue, and sign-out then ends its copies", async () => {
    h = await startHarness();
    const jar = await signIn(h.bff.url);
    const { session, cookieNames } = await h.bff.bff.sessions.read(jar.header());
    const { sid: _sid, ...legacy } = session!;
    const codec = await createSessionCodec({ secrets: [TEST_SECRET], cookieName: "authjs.session-token", maxAgeSeconds: 30 * 24 * 3600, now: () => h!.emu.clock.now() });
    const legacyJar = new CookieJar();
    const lines = writeSessionCookies("authjs.session-token", await codec.encode(legacy), cookieNames, { secure: false, maxAgeSeconds: 3600, now: Date.now });
    legacyJar.store(new Response(null, { headers: lines.map((line) => ["set-cookie", line] as [string, string]) }));
    expect((await h.bff.bff.sessions.read(legacyJar.header())).session!.sid).toBeUndefined();

    // Auth.js re-issues the cookie on /auth/session: now it has an id.
    expect(await (await legacyJar.fetch(`${h.bff.url}/auth/session`)).json()).toMatchObject({ user: { id: USER.username } });
    const reissued = (await h.bff.bff.sessions.read(legacyJar.header())).session!;
    expect(reissued.sid).toMatch(/^[\w-]{22}$/);
    const copy = legacyJar.header();
    expect((await signOut(h.bff.url, legacyJar)).status).toBe(302);
    await expectEnded(h.bff, copy);
  });
});

describe("revocations survive a Redis restart", () => {
  it("with an append-only Redis: sign-out and admin revocation, Redis restarted, a replica started afterwards refuses both", async () => {
    own = await startOwnRedis({ appendOnly: true });
    h = await startHarness({ redisUrl: own.url, env: { ADMIN_SECRET } });
    h.emu.addUser({ username: "0b8f3c1e-6a2d-4e5f-8a9b-1c2d3e4f5a6b", email: "grace@example.com", password: "Other-Horse-7", emailVerified: true });
    const ada = await signIn(h.bff.url);
    const adaCopy = ada.header();
    const grace = (await signIn(h.bff.url, { username: "0b8f3c1e-6a2d-4e5f-8a9b-1c2d3e4f5a6b", email: "grace@example.com", password: "Other-Horse-7" })).header();
    expect((await signOut(h.bff.url, ada)).status).toBe(302);
    const revoke = await fetch(`${h.bff.url}/admin/users/0b8f3c1e-6a2d-4e5f-8a9b-1c2d3e4f5a6b/sessions/revoke`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_SECRET}` } });
    expect(revoke.status).toBe(200);
    // No replica that saw them is left to write them back: only the append-only file keeps them.
    await h.bff.close();
    await own.stop();
    await own.start();
    const fresh = await h.startBff({ ADMIN_SECRET });
    await expectEnded(fresh, adaCopy);
    expect((await replay(fresh, grace)).status).toBe(401);
  });

  it("without persistence, a replica that saw the sign-out writes it back when Redis returns empty, and a new replica refuses the copy", async () => {
    own = await startOwnRedis({ appendOnly: false });
    h = await startHarness({ redisUrl: own.url });
    const jar = await signIn(h.bff.url);
    const copy = jar.header();
    expect((await signOut(h.bff.url, jar)).status).toBe(302);
    await own.stop();
    await own.start(); // empty: --save "" and no append-only file
    const check = new Redis(own.url, { lazyConnect: true });
    try {
      await check.connect();
      await within(8000, async () => Object.keys(await check.hgetall(`${h!.redisPrefix}revoked-sessions`)).length === 1);
    } finally {
      check.disconnect();
    }
    const fresh = await h.startBff();
    await expectEnded(fresh, copy);
    expect(h.bff.logs.join("\n")).toContain("revocations missing from redis were written back");
  });
});

describe("sign out everywhere (the everywhere form field of /auth/signout)", () => {
  const ADMIN_SCOPES = { COGNITO_SCOPES: "openid email profile aws.cognito.signin.user.admin" };

  async function twoBrowsers(options: Parameters<typeof startHarness>[0]) {
    h = await startHarness(options);
    const laptop = await signIn(h.bff.url);
    const phone = await signIn(h.bff.url);
    const phoneToken = (await h.bff.bff.sessions.read(phone.header())).session!.refresh_token;
    const laptopToken = (await h.bff.bff.sessions.read(laptop.header())).session!.refresh_token;
    return { h, laptop, phone, phoneToken, laptopToken };
  }

  it("with the admin scope: both browsers' sessions end, and GlobalSignOut revokes every refresh token at Cognito", async () => {
    const { h, laptop, phone, phoneToken, laptopToken } = await twoBrowsers({ env: ADMIN_SCOPES });
    expect((await signOut(h.bff.url, laptop, undefined, { everywhere: "true" })).status).toBe(302);
    expect(h.emu.calls("GlobalSignOut")).toBe(1);
    expect(h.emu.calls("RevokeToken")).toBe(0);
    expect(h.emu.refreshTokenState(laptopToken)).toBe("revoked");
    expect(h.emu.refreshTokenState(phoneToken)).toBe("revoked");
    const res = await callToken(phone, h.bff.url);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "session_expired" });
  });

  it("without the admin scope: GlobalSignOut is refused, this session's token is revoked at once, the other's when its cookie shows up", async () => {
    const { h, laptop, phone, phoneToken, laptopToken } = await twoBrowsers({});
    expect((await signOut(h.bff.url, laptop, undefined, { everywhere: "true" })).status).toBe(302);
    expect(h.emu.calls("GlobalSignOut")).toBe(1);
    expect(h.emu.refreshTokenState(laptopToken)).toBe("revoked");
    expect((await callToken(phone, h.bff.url)).status).toBe(401);
    await within(2000, async () => h.emu.refreshTokenState(phoneToken) === "revoked");
    expect(h.bff.logs.join("\n")).toContain("GlobalSignOut refused");
  });

  it("across replicas sharing Redis: the other browser is refused on another replica within 1 s", async () => {
    const { h, laptop, phone } = await twoBrowsers({ redisUrl: REDIS, env: ADMIN_SCOPES });
    const other = await h.startBff(ADMIN_SCOPES);
    expect((await callToken(phone, other.url)).status).toBe(200);
    expect((await signOut(h.bff.url, laptop, undefined, { everywhere: "true" })).status).toBe(302);
    expect(await within(1000, async () => (await callToken(phone, other.url)).status === 401)).toBeLessThan(1000);
  });

  it("a plain sign-out ends only its own session", async () => {
    const { h, laptop, phone, phoneToken } = await twoBrowsers({ env: ADMIN_SCOPES });
    expect((await signOut(h.bff.url, laptop)).status).toBe(302);
    expect(h.emu.calls("GlobalSignOut")).toBe(0);
    expect(h.emu.refreshTokenState(phoneToken)).toBe("active");
    expect((await callToken(phone, h.bff.url)).status).toBe(200);
  });
});
