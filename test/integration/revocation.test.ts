import { afterEach, describe, expect, it } from "vitest";
import { callToken, signIn, startHarness, USER, type Bff, type Harness, within } from "../helpers/harness.js";
import type { CookieJar } from "../helpers/cookie-jar.js";
import { startUpstream } from "../helpers/upstream.js";

const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const ADMIN_SECRET = "admin-secret-for-tests-0123456789abcdefXYZ";
const OTHER = { username: "0b8f3c1e-6a2d-4e5f-8a9b-1c2d3e4f5a6b", email: "grace@example.com", password: "Other-Horse-7" };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function revoke(bff: Bff, sub: string, authorization = `Bearer ${ADMIN_SECRET}`, method = "POST"): Promise<Response> {
  return fetch(`${bff.url}/admin/users/${encodeURIComponent(sub)}/sessions/revoke`, { method, headers: { authorization } });
}

async function twoReplicasTwoUsers() {
  h = await startHarness({ redisUrl: REDIS, env: { ADMIN_SECRET } });
  h.emu.addUser({ ...OTHER, emailVerified: true });
  const replicaB = await h.startBff({ ADMIN_SECRET });
  const ada = await signIn(h.bff.url);
  const grace = await signIn(h.bff.url, OTHER);
  return { h, replicaA: h.bff, replicaB, ada, grace };
}

describe("the admin endpoint is off by default and guarded", () => {
  it("without ADMIN_SECRET the endpoint does not exist (404), even with a bearer", async () => {
    h = await startHarness();
    const res = await revoke(h.bff, USER.username);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "not_found" });
  });

  it("a missing, wrong or differently-cased secret is 401 without a hint, and the secret never reaches the log or the answer", async () => {
    h = await startHarness({ env: { ADMIN_SECRET } });
    const jar = await signIn(h.bff.url);
    for (const authorization of ["", "Bearer", `Bearer ${ADMIN_SECRET}x`, `Bearer ${ADMIN_SECRET.slice(0, -1)}`, `bearer ${ADMIN_SECRET.toUpperCase()}`, ADMIN_SECRET, `Basic ${ADMIN_SECRET}`]) {
      const res = await revoke(h.bff, USER.username, authorization);
      const text = await res.text();
      expect(res.status, authorization).toBe(401);
      expect(JSON.parse(text)).toEqual({ error: "unauthenticated", error_description: "Authentication required." });
      expect(text).not.toContain(ADMIN_SECRET.slice(0, 12));
    }
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
    expect((await revoke(h.bff, USER.username)).status).toBe(200);
    expect(h.bff.logs.join("\n")).not.toContain(ADMIN_SECRET);
  });

  it("is server-to-server: no X-CSRF needed, a foreign Origin gets no CORS; other methods are 405 and a malformed sub 400", async () => {
    h = await startHarness({ env: { ADMIN_SECRET } });
    const res = await fetch(`${h.bff.url}/admin/users/${USER.username}/sessions/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_SECRET}`, origin: "https://evil.example" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(await res.json()).toMatchObject({ sub: USER.username, scope: "this_replica", revoked_at: expect.any(Number) });
    expect((await revoke(h.bff, USER.username, `Bearer ${ADMIN_SECRET}`, "GET")).status).toBe(405);
    expect((await revoke(h.bff, USER.username, "", "GET")).status).toBe(401);
    const bad = await revoke(h.bff, "a b;c");
    expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([400, "invalid_request"]);
  });

  it("ADMIN_SECRET shorter than 32 characters stops start-up, naming the variable and not the value", async () => {
    await expect(startHarness({ env: { ADMIN_SECRET: "short-admin-secret" } })).rejects.toThrow(/ADMIN_SECRET: must be at least 32 characters/);
    await expect(startHarness({ env: { ADMIN_SECRET: "short-admin-secret" } })).rejects.not.toThrow(/short-admin-secret/);
  });
});

describe("revoking a user's sessions across replicas (Redis)", () => {
  it("a revocation on replica A ends the user's sessions on replica B within a second, clears the cookies, and leaves other users alone", async () => {
    const { h, replicaA, replicaB, ada, grace } = await twoReplicasTwoUsers();
    const adaSecond = await signIn(replicaB.url);
    for (const jar of [ada, adaSecond, grace]) expect((await callToken(jar, replicaB.url)).status).toBe(200);
    const adaCookie = ada.header();
    const refreshToken = (await replicaA.bff.sessions.read(adaCookie)).session!.refresh_token;

    const res = await revoke(replicaA, USER.username);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ sub: USER.username, scope: "all_replicas" });

    const took = await within(1000, async () => (await fetch(`${replicaB.url}/token`, { headers: { cookie: adaCookie, "x-csrf": "1" } })).status === 401);
    expect(took).toBeLessThan(1000);
    const names = ada.sessionCookieNames();
    const ended = await callToken(ada, replicaB.url);
    expect(ended.status).toBe(401);
    expect(await ended.json()).toMatchObject({ error: "session_expired" });
    const cleared = ended.headers.getSetCookie().filter((c) => /Max-Age=0/.test(c)).map((c) => c.split("=")[0]);
    expect(cleared.sort()).toEqual(names.sort());
    expect((await callToken(adaSecond, replicaA.url)).status).toBe(401);

    // Auth.js's own session endpoint ends it too, on either replica, the way Auth.js ends any session:
    // 200 with the body null (what Auth.js's getSession() and our client's getUser() read as signed out)
    // and every session cookie cleared. Issue 18: the README and openapi.yaml said 401 session_expired.
    for (const replica of [replicaA, replicaB]) {
      const session = await fetch(`${replica.url}/auth/session`, { headers: { cookie: adaCookie } });
      expect(session.status).toBe(200);
      expect(await session.json()).toBeNull();
      const clearedBySession = session.headers.getSetCookie().filter((c) => /Max-Age=0/i.test(c)).map((c) => c.split("=")[0]);
      expect(clearedBySession.sort()).toEqual(names.sort());
    }

    // The other user is untouched.
    expect((await callToken(grace, replicaB.url)).status).toBe(200);

    // Best effort, once: the revoked session's refresh token is revoked at Cognito.
    await within(2000, async () => h.emu.refreshTokenState(refreshToken) === "revoked");
    const calls = h.emu.calls("RevokeToken");
    for (let i = 0; i < 3; i++) await fetch(`${replicaB.url}/token`, { headers: { cookie: adaCookie, "x-csrf": "1" } });
    expect(h.emu.calls("RevokeToken")).toBe(calls);
  });

  it("the user can sign in again afterwards; a replica started after the revocation loads it", async () => {
    const { h, replicaA, ada } = await twoReplicasTwoUsers();
    const cookie = ada.header();
    expect((await revoke(replicaA, USER.username)).status).toBe(200);
    const late = await h.startBff({ ADMIN_SECRET });
    expect((await fetch(`${late.url}/token`, { headers: { cookie, "x-csrf": "1" } })).status).toBe(401);

    // Revocation is to the second: a sign-in in a later second is a new session.
    h.emu.clock.advance(1);
    const again = await signIn(late.url);
    expect((await callToken(again, late.url)).status).toBe(200);
    expect((await callToken(again, replicaA.url)).status).toBe(200);
  });

  it("the session stays revoked through refreshes: signed_in_at survives, an expired token is not refreshed", async () => {
    const { h, replicaA, replicaB, ada } = await twoReplicasTwoUsers();
    h.emu.clock.advance(3600);
    expect((await callToken(ada, replicaA.url)).status).toBe(200);
    const refreshed = (await replicaA.bff.sessions.read(ada.header())).session!;
    expect(typeof refreshed.signed_in_at).toBe("number");
    expect(refreshed.signed_in_at).toBeLessThan(refreshed.issued_at);
    h.emu.clock.advance(3600);
    const calls = h.emu.calls("InitiateAuth");
    expect((await revoke(replicaB, USER.username)).status).toBe(200);
    await within(1000, async () => replicaA.bff.revocations.isRevoked(refreshed));
    expect((await callToken(ada, replicaA.url)).status).toBe(401);
    expect(h.emu.calls("InitiateAuth")).toBe(calls);
  });
});

describe("revocation without Redis, and older cookies", () => {
  it("without REDIS_URL it covers this replica, and a cookie without signed_in_at is treated as revoked", async () => {
    h = await startHarness({ env: { ADMIN_SECRET } });
    const jar: CookieJar = await signIn(h.bff.url);
    const { session, cookieNames } = await h.bff.bff.sessions.read(jar.header());
    const { signed_in_at: _dropped, ...older } = session!;
    const olderCookie = (await h.bff.bff.sessions.write(older, cookieNames)).map((c) => c.split(";")[0]).join("; ");
    expect((await fetch(`${h.bff.url}/token`, { headers: { cookie: olderCookie, "x-csrf": "1" } })).status).toBe(200);

    h.emu.clock.advance(5);
    const fresh = await signIn(h.bff.url);
    // Revoke "as of" a moment before the fresh sign-in: the fresh session survives, the older cookie cannot prove its age.
    h.emu.clock.advance(-3);
    expect((await revoke(h.bff, USER.username)).status).toBe(200);
    h.emu.clock.advance(3);
    expect((await fetch(`${h.bff.url}/token`, { headers: { cookie: olderCookie, "x-csrf": "1" } })).status).toBe(401);
    expect((await callToken(jar, h.bff.url)).status).toBe(401);
    expect((await callToken(fresh, h.bff.url)).status).toBe(200);
  });
});

describe("what each endpoint answers a revoked session (what the README and openapi.yaml promise)", () => {
  it("/token and /api/* give 401 session_expired and clear the cookies; /auth/session gives 200 null and clears them; the upstream is not called", async () => {
    const orders = await startUpstream();
    try {
      h = await startHarness({ env: { ADMIN_SECRET, UPSTREAMS: JSON.stringify({ orders: { url: orders.url, token: "user" } }) } });
      const jar = await signIn(h.bff.url);
      const cookie = jar.header();
      const names = jar.sessionCookieNames().sort();
      expect((await callToken(jar, h.bff.url, "/api/orders/x")).status).toBe(200);
      expect((await revoke(h.bff, USER.username)).status).toBe(200);
      const clearedBy = (res: Response) =>
        res.headers.getSetCookie().filter((c) => /Max-Age=0/i.test(c)).map((c) => c.split("=")[0]).sort();

      for (const path of ["/token", "/api/orders/x"]) {
        const res = await fetch(`${h.bff.url}${path}`, { headers: { cookie, "x-csrf": "1" } });
        expect(res.status, path).toBe(401);
        expect(await res.json(), path).toMatchObject({ error: "session_expired" });
        expect(clearedBy(res), path).toEqual(names);
      }
      expect(orders.seen).toHaveLength(1);

      const session = await fetch(`${h.bff.url}/auth/session`, { headers: { cookie } });
      expect(session.status).toBe(200);
      expect(await session.json()).toBeNull();
      expect(clearedBy(session)).toEqual(names);
    } finally {
      await orders.close();
    }
  });
});
