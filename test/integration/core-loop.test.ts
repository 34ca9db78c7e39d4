import { decodeJwt } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { callToken, signIn, startHarness, USER, type Harness } from "../helpers/harness.js";

let h: Harness;
beforeEach(async () => {
  h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 } });
});
afterEach(async () => {
  await h?.close();
});

describe("sign-in and GET /token", () => {
  it("without a session, /token answers 401 unauthenticated", async () => {
    const res = await fetch(`${h.bff.url}/token`, { headers: { "X-CSRF": "1" } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "unauthenticated", error_description: expect.any(String) });
  });

  it("after sign-in through the Hosted UI, /token returns the access token and nothing secret", async () => {
    const jar = await signIn(h.bff.url);
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.getSetCookie()).toEqual([]);
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_at", "expires_in", "scope", "token_type"]);
    expect(body.token_type).toBe("Bearer");
    const claims = decodeJwt(body.access_token as string);
    expect(claims).toMatchObject({ token_use: "access", username: USER.username, client_id: h.bff.config.cognito.clientId });
    expect(body.expires_at).toBe(claims.exp);
    expect(body.expires_in).toBeGreaterThan(3500);
    expect(JSON.stringify(body)).not.toMatch(/refresh|id_token/);
    expect(h.emu.calls("InitiateAuth")).toBe(0);
  });

  it("the session stores the Cognito username and sub, not Auth.js's random sub", async () => {
    const jar = await signIn(h.bff.url);
    const { session } = await h.bff.bff.sessions.read(jar.header());
    expect(session).toMatchObject({ cognito_username: USER.username, cognito_sub: USER.username, email: USER.email });
    const session2 = (await (await jar.fetch(`${h.bff.url}/auth/session`)).json()) as { user: { id: string; email: string } };
    expect(session2.user).toMatchObject({ id: USER.username, email: USER.email });
    expect(JSON.stringify(session2)).not.toMatch(/eyJ/);
  });

  it("past expiry, exactly one refresh: a new token and cookie, and the next request uses them without refreshing", async () => {
    const jar = await signIn(h.bff.url);
    const first = (await (await callToken(jar, h.bff.url)).json()) as { access_token: string };
    const oldCookie = jar.header();

    h.emu.clock.advance(3600);
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(200);
    const second = (await res.json()) as { access_token: string; expires_in: number };
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.expires_in).toBeGreaterThan(3500);
    expect(res.headers.getSetCookie().some((c) => c.startsWith("authjs.session-token"))).toBe(true);
    expect(jar.header()).not.toBe(oldCookie);
    expect(h.emu.calls("InitiateAuth")).toBe(1);

    const again = await callToken(jar, h.bff.url);
    expect(((await again.json()) as { access_token: string }).access_token).toBe(second.access_token);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
  });

  it("a cookie written by /token is read by /auth/session, which does not refresh again", async () => {
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    const token = (await (await callToken(jar, h.bff.url)).json()) as { access_token: string };
    const session = await jar.fetch(`${h.bff.url}/auth/session`);
    expect(((await session.json()) as { user: { email: string } }).user.email).toBe(USER.email);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    // And the cookie re-issued by /auth/session still serves the same token on /token.
    expect(((await (await callToken(jar, h.bff.url)).json()) as { access_token: string }).access_token).toBe(token.access_token);
  });

  it("/auth/session refreshes an expired token itself and /token then serves the refreshed one", async () => {
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    expect((await jar.fetch(`${h.bff.url}/auth/session`)).status).toBe(200);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
  });

  it("min_ttl refreshes early when fewer seconds remain, capped at half the token's lifetime; a bad min_ttl is 400", async () => {
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(700); // 2900 s left of 3600
    expect((await callToken(jar, h.bff.url, "/token?min_ttl=600")).status).toBe(200);
    // min_ttl above half the lifetime (1800 s) is capped, so a young token is not refreshed on every call.
    expect((await callToken(jar, h.bff.url, "/token?min_ttl=3000")).status).toBe(200);
    expect(h.emu.calls("InitiateAuth")).toBe(0);
    h.emu.clock.advance(1200); // 1700 s left
    const res = await callToken(jar, h.bff.url, "/token?min_ttl=1750");
    expect(((await res.json()) as { expires_in: number }).expires_in).toBeGreaterThan(3500);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    for (const bad of ["-1", "1e99", "abc", "86401", "1&min_ttl=2", "", "%00"]) {
      const r = await callToken(jar, h.bff.url, `/token?min_ttl=${bad}`);
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { error: string }).error).toBe("invalid_request");
    }
  });

  it("POST /token/refresh forces a refresh of a valid token", async () => {
    const jar = await signIn(h.bff.url);
    const before = (await (await callToken(jar, h.bff.url)).json()) as { access_token: string };
    h.emu.clock.advance(11); // older than REFRESH_MIN_INTERVAL_SECONDS (10 s): a younger token is answered as it is
    const res = await callToken(jar, h.bff.url, "/token/refresh", { method: "POST" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { access_token: string }).access_token).not.toBe(before.access_token);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    expect((await callToken(jar, h.bff.url, "/token/refresh", { method: "DELETE" })).status).toBe(405);
  });

  it("no token, cookie value or secret reaches the log", async () => {
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    const { access_token } = (await (await callToken(jar, h.bff.url)).json()) as { access_token: string };
    await jar.fetch(`${h.bff.url}/auth/session`);
    const { session } = await h.bff.bff.sessions.read(jar.header());
    const secrets = [
      access_token,
      session!.refresh_token,
      session!.id_token!,
      ...jar.cookies.values(),
      h.bff.config.cognito.clientSecret!,
      h.bff.config.authSecrets[0]!,
    ];
    const log = h.bff.logs.join("");
    expect(h.bff.logs.length).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(16);
      expect(log.includes(secret.slice(0, 40))).toBe(false);
    }
    expect(log).toContain('"msg":"tokens refreshed"');
  });
});
