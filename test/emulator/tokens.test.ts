import { createHash } from "node:crypto";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { basic, CLIENTS, exchange, formPost, SECRET, USER } from "./support.js";

let emu: Emulator;
let discovery: Record<string, unknown>;
let jwks: ReturnType<typeof createRemoteJWKSet>;
beforeAll(async () => {
  emu = await startEmulator({ users: [USER], clients: CLIENTS, accessTokenTtlSeconds: 600, idTokenTtlSeconds: 900 });
  discovery = (await (await fetch(`${emu.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  jwks = createRemoteJWKSet(new URL(discovery.jwks_uri as string));
});
afterAll(() => emu.close());

const userInfo = (accessToken: string) => fetch(`${emu.url}/oauth2/userInfo`, { headers: { authorization: `Bearer ${accessToken}` } });

describe("discovery and JWKS", () => {
  it("publishes Cognito's endpoints and capabilities under the issuer", () => {
    expect(emu.issuer).toBe(`${emu.url}/us-east-1_Emulator1`);
    expect(discovery).toMatchObject({
      issuer: emu.issuer,
      authorization_endpoint: `${emu.url}/oauth2/authorize`,
      token_endpoint: `${emu.url}/oauth2/token`,
      userinfo_endpoint: `${emu.url}/oauth2/userInfo`,
      revocation_endpoint: `${emu.url}/oauth2/revoke`,
      end_session_endpoint: `${emu.url}/logout`,
      jwks_uri: `${emu.issuer}/.well-known/jwks.json`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    });
    expect(discovery.scopes_supported).toEqual(expect.arrayContaining(["openid", "email", "profile"]));
  });

  it("serves an RS256 public key with a kid and nothing private", async () => {
    const { keys } = (await (await fetch(discovery.jwks_uri as string)).json()) as { keys: Record<string, string>[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", kid: expect.any(String), e: "AQAB" });
    expect(keys[0]!.d).toBeUndefined();
  });
});

describe("tokens from the code flow", () => {
  it("the access token carries Cognito's access claims, no aud, and verifies with the JWKS", async () => {
    const before = Math.floor(emu.clock.now() / 1000);
    const tokens = await exchange(emu, "secretclient", SECRET);
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 600 });
    expect(decodeProtectedHeader(tokens.access_token)).toMatchObject({ alg: "RS256", kid: expect.any(String) });
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: emu.issuer, currentDate: new Date(emu.clock.now()) });
    expect(Object.keys(payload).sort()).toEqual(
      ["auth_time", "client_id", "cognito:groups", "event_id", "exp", "iat", "iss", "jti", "origin_jti", "scope", "sub", "token_use", "username", "version"].sort(),
    );
    expect(payload).toMatchObject({ sub: USER.username, "cognito:groups": ["admins"], client_id: "secretclient", token_use: "access", scope: "openid email", username: USER.username });
    expect(payload.exp! - payload.iat!).toBe(600);
    expect(payload.auth_time).toBeGreaterThanOrEqual(before);
  });

  it("the ID token carries the user's claims, aud = client id, the nonce and at_hash", async () => {
    const tokens = await exchange(emu, "secretclient", SECRET);
    const { payload } = await jwtVerify(tokens.id_token, jwks, { issuer: emu.issuer, audience: "secretclient", currentDate: new Date(emu.clock.now()) });
    expect(payload).toMatchObject({
      sub: USER.username,
      "cognito:username": USER.username,
      email: USER.email,
      email_verified: true,
      token_use: "id",
      nonce: "n0nce",
      name: "Grace Hopper",
      "custom:team": "navy",
    });
    expect(payload.exp! - payload.iat!).toBe(900);
    const digest = createHash("sha256").update(tokens.access_token).digest().subarray(0, 16).toString("base64url");
    expect(payload.at_hash).toBe(digest);
    const access = decodeJwt(tokens.access_token);
    expect([payload.origin_jti, payload.event_id, payload.auth_time]).toEqual([access.origin_jti, access.event_id, access.auth_time]);
    expect(payload.jti).not.toBe(access.jti);
  });

  it("the refresh token is opaque, Cognito-shaped (five base64url parts, ~1.7 KB) and unique", async () => {
    const a = await exchange(emu, "publicclient");
    const b = await exchange(emu, "publicclient");
    for (const rt of [a.refresh_token, b.refresh_token]) {
      expect(rt.split(".")).toHaveLength(5);
      expect(rt).toMatch(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){4}$/);
      expect(rt.length).toBeGreaterThan(1500);
      expect(rt.length).toBeLessThan(2000);
    }
    expect(a.refresh_token).not.toBe(b.refresh_token);
    expect(emu.refreshTokenState(a.refresh_token)).toBe("active");
    expect(emu.refreshTokenState("nonsense")).toBe("unknown");
  });

  it("a refresh keeps auth_time and origin_jti, gives new jti, and stamps iat from the emulator's clock", async () => {
    const first = await exchange(emu, "secretclient", SECRET);
    emu.clock.advance(1200);
    const res = await fetch(`${emu.url}/oauth2/token`, formPost({ grant_type: "refresh_token", refresh_token: first.refresh_token }, { authorization: basic("secretclient", SECRET) }));
    const again = (await res.json()) as Record<string, string>;
    const [old, fresh] = [decodeJwt(first.access_token), decodeJwt(again.access_token!)];
    expect(fresh.auth_time).toBe(old.auth_time);
    expect(fresh.origin_jti).toBe(old.origin_jti);
    expect(fresh.jti).not.toBe(old.jti);
    expect(fresh.iat! - old.iat!).toBeGreaterThanOrEqual(1200);
    expect(decodeJwt(again.id_token!).nonce).toBeUndefined();
  });
});

describe("GET /oauth2/userInfo", () => {
  it("refuses a missing, forged, expired or ID token with 401 invalid_token", async () => {
    const tokens = await exchange(emu, "publicclient");
    const forged = tokens.access_token.slice(0, -4) + (tokens.access_token.endsWith("AAAA") ? "BBBB" : "AAAA");
    for (const bad of ["", "garbage", forged, tokens.id_token]) {
      const res = await userInfo(bad);
      expect([res.status, await res.json()]).toEqual([401, { error: "invalid_token" }]);
      expect(res.headers.get("www-authenticate")).toMatch(/invalid_token/);
    }
    emu.clock.advance(601);
    expect((await userInfo(tokens.access_token)).status).toBe(401);
  });

  it("refuses an access token without openid", async () => {
    const tokens = await exchange(emu, "publicclient", undefined, { scope: "aws.cognito.signin.user.admin" });
    expect((await userInfo(tokens.access_token)).status).toBe(401);
  });

  it("answers sub, username and the attributes the scopes release, as strings", async () => {
    const email = await exchange(emu, "publicclient", undefined, { scope: "openid email" });
    const res = await userInfo(email.access_token);
    expect(await res.json()).toEqual({ sub: USER.username, email: USER.email, email_verified: "true", username: USER.username });
    const openidOnly = await exchange(emu, "publicclient", undefined, { scope: "openid" });
    expect(await (await userInfo(openidOnly.access_token)).json()).toEqual({
      sub: USER.username,
      username: USER.username,
      email: USER.email,
      email_verified: "true",
      name: "Grace Hopper",
      "custom:team": "navy",
      phone_number: "+15555550100",
    });
    const profile = await exchange(emu, "publicclient", undefined, { scope: "openid profile" });
    expect(await (await userInfo(profile.access_token)).json()).toEqual({ sub: USER.username, username: USER.username, name: "Grace Hopper", "custom:team": "navy" });
  });
});

describe("POST /oauth2/revoke", () => {
  it("needs client authentication (401 invalid_client) and a token (400 invalid_request)", async () => {
    const tokens = await exchange(emu, "secretclient", SECRET);
    const noAuth = await fetch(`${emu.url}/oauth2/revoke`, formPost({ token: tokens.refresh_token, client_id: "secretclient" }));
    expect([noAuth.status, await noAuth.json()]).toEqual([401, { error: "invalid_client" }]);
    const noToken = await fetch(`${emu.url}/oauth2/revoke`, formPost({}, { authorization: basic("secretclient", SECRET) }));
    expect([noToken.status, await noToken.json()]).toEqual([400, { error: "invalid_request" }]);
    expect(emu.refreshTokenState(tokens.refresh_token)).toBe("active");
  });

  it("refuses access tokens (unsupported_token_type) and another client's refresh token", async () => {
    const tokens = await exchange(emu, "secretclient", SECRET);
    const access = await fetch(`${emu.url}/oauth2/revoke`, formPost({ token: tokens.access_token }, { authorization: basic("secretclient", SECRET) }));
    expect([access.status, await access.json()]).toEqual([400, { error: "unsupported_token_type" }]);
    const foreign = await fetch(`${emu.url}/oauth2/revoke`, formPost({ token: tokens.refresh_token, client_id: "publicclient" }));
    expect([foreign.status, await foreign.json()]).toEqual([400, { error: "unauthorized_client" }]);
    expect(emu.refreshTokenState(tokens.refresh_token)).toBe("active");
  });

  it("revokes the refresh token and every token of its family, rotated successors included; unknown tokens are 200", async () => {
    const tokens = await exchange(emu, "rotatingpublic");
    const refreshed = (await (
      await fetch(`${emu.url}/oauth2/token`, formPost({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: "rotatingpublic" }))
    ).json()) as Record<string, string>;
    expect((await userInfo(refreshed.access_token!)).status).toBe(200);
    const res = await fetch(`${emu.url}/oauth2/revoke`, formPost({ token: tokens.refresh_token, client_id: "rotatingpublic" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    expect(emu.refreshTokenState(tokens.refresh_token)).toBe("revoked");
    expect(emu.refreshTokenState(refreshed.refresh_token!)).toBe("revoked");
    expect((await userInfo(tokens.access_token)).status).toBe(401);
    expect((await userInfo(refreshed.access_token!)).status).toBe(401);
    const unknown = await fetch(`${emu.url}/oauth2/revoke`, formPost({ token: "a.b.c.d.e", client_id: "rotatingpublic" }));
    expect(unknown.status).toBe(200);
  });
});
