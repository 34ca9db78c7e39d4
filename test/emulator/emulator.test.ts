import { createHash, randomBytes } from "node:crypto";
import {
  CognitoIdentityProviderClient,
  GetTokensFromRefreshTokenCommand,
  InitiateAuthCommand,
  RevokeTokenCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { computeSecretHash as bffSecretHash } from "../../src/cognito/secret-hash.js";
import { computeSecretHash, startEmulator, type Emulator } from "../../src/emulator/index.js";
import { parseForm } from "../helpers/cookie-jar.js";

const USER = { username: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", email: "grace@example.com", password: "Hopper-1906!", emailVerified: true };
const SECRET = "emulator-client-secret-abcdefghijklmnopqrstuvwxyz";
const REDIRECT = "http://app.test/auth/callback/cognito";
let emu: Emulator;
let sdk: CognitoIdentityProviderClient;

beforeEach(async () => {
  emu = await startEmulator({
    users: [USER],
    clients: [
      { clientId: "secretclient", clientSecret: SECRET, redirectUris: [REDIRECT], logoutUris: ["http://app.test/"], clientCredentialsScopes: ["reports/read", "reports/write"] },
      { clientId: "publicclient", redirectUris: [REDIRECT], logoutUris: [] },
      { clientId: "rotating", clientSecret: SECRET, redirectUris: [REDIRECT], logoutUris: [], rotation: { enabled: true, gracePeriodSeconds: 30 } },
    ],
  });
  // These operations are unauthenticated: the SDK needs no AWS credentials for them.
  sdk = new CognitoIdentityProviderClient({ region: emu.region, endpoint: emu.url, maxAttempts: 1 });
});
afterEach(async () => {
  sdk.destroy();
  await emu.close();
});

const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields),
  redirect: "manual" as const,
});
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

/** authorize -> login form -> code, as a browser would, with PKCE S256. */
async function authorize(clientId: string, extra: Record<string, string> = {}) {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  const url = new URL(`${emu.url}/oauth2/authorize`);
  const params = { response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: "openid email", state: "st4te", nonce: "n0nce", code_challenge: challenge, code_challenge_method: "S256", ...extra };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const { action, fields } = parseForm(await page.text(), url.toString());
  const login = await fetch(action, form({ ...fields, username: USER.email.toUpperCase(), password: USER.password }));
  expect(login.status).toBe(302);
  const location = new URL(login.headers.get("location")!);
  expect(location.searchParams.get("state")).toBe("st4te");
  return { code: location.searchParams.get("code")!, verifier };
}

async function exchange(clientId: string, secret?: string) {
  const { code, verifier } = await authorize(clientId);
  const res = await fetch(`${emu.url}/oauth2/token`, {
    ...form({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier, ...(secret ? {} : { client_id: clientId }) }),
    headers: { "content-type": "application/x-www-form-urlencoded", ...(secret ? { authorization: basic(clientId, secret) } : {}) },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { id_token: string; access_token: string; refresh_token: string; expires_in: number; token_type: string };
}

describe("Hosted UI and token endpoint", () => {
  it("a wrong password re-renders the form with Cognito's message and no redirect", async () => {
    const url = `${emu.url}/oauth2/authorize?response_type=code&client_id=publicclient&redirect_uri=${encodeURIComponent(REDIRECT)}&scope=openid`;
    const { action, fields } = parseForm(await (await fetch(url)).text(), url);
    const res = await fetch(action, form({ ...fields, username: USER.email, password: "wrong" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Incorrect username or password.");
  });

  it("rejects an unregistered redirect_uri with a 400 page and a plain PKCE method with an error redirect", async () => {
    expect((await fetch(`${emu.url}/oauth2/authorize?response_type=code&client_id=publicclient&redirect_uri=http%3A%2F%2Fevil.test%2F`)).status).toBe(400);
    const res = await fetch(
      `${emu.url}/oauth2/authorize?response_type=code&client_id=publicclient&redirect_uri=${encodeURIComponent(REDIRECT)}&code_challenge=abc&code_challenge_method=plain&state=s`,
      { redirect: "manual" },
    );
    expect(res.headers.get("location")).toBe(`${REDIRECT}?error=invalid_request&state=s`);
  });

  it("rejects a wrong client secret (basic and post), a PKCE mismatch and a reused code", async () => {
    const a = await authorize("secretclient");
    const wrongBasic = await fetch(`${emu.url}/oauth2/token`, {
      ...form({ grant_type: "authorization_code", code: a.code, redirect_uri: REDIRECT, code_verifier: a.verifier }),
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic("secretclient", "nope") },
    });
    expect([wrongBasic.status, await wrongBasic.json()]).toEqual([400, { error: "invalid_client" }]);
    const wrongPost = await fetch(`${emu.url}/oauth2/token`, form({ grant_type: "authorization_code", code: a.code, redirect_uri: REDIRECT, client_id: "secretclient", client_secret: "nope" }));
    expect(await wrongPost.json()).toEqual({ error: "invalid_client" });

    const b = await authorize("secretclient");
    const mismatch = await fetch(`${emu.url}/oauth2/token`, form({ grant_type: "authorization_code", code: b.code, redirect_uri: REDIRECT, code_verifier: "x".repeat(43), client_id: "secretclient", client_secret: SECRET }));
    expect(await mismatch.json()).toEqual({ error: "invalid_grant" });

    const c = await authorize("secretclient");
    const ok = form({ grant_type: "authorization_code", code: c.code, redirect_uri: REDIRECT, code_verifier: c.verifier, client_id: "secretclient", client_secret: SECRET });
    expect((await fetch(`${emu.url}/oauth2/token`, ok)).status).toBe(200);
    const again = await fetch(`${emu.url}/oauth2/token`, form({ grant_type: "authorization_code", code: c.code, redirect_uri: REDIRECT, code_verifier: c.verifier, client_id: "secretclient", client_secret: SECRET }));
    expect(await again.json()).toEqual({ error: "invalid_grant" });
  });

  it("issues RS256 tokens with Cognito's claims, verifiable with the JWKS from discovery", async () => {
    const discovery = (await (await fetch(`${emu.issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    expect(discovery.issuer).toBe(emu.issuer);
    const tokens = await exchange("secretclient", SECRET);
    expect(tokens).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri!));
    const access = (await jwtVerify(tokens.access_token, jwks, { issuer: emu.issuer })).payload;
    expect(access).toMatchObject({ sub: USER.username, token_use: "access", client_id: "secretclient", username: USER.username, scope: "openid email" });
    expect(access.aud).toBeUndefined();
    const id = (await jwtVerify(tokens.id_token, jwks, { issuer: emu.issuer, audience: "secretclient" })).payload;
    expect(id).toMatchObject({ token_use: "id", "cognito:username": USER.username, email: USER.email, email_verified: true, nonce: "n0nce" });
    expect(id.origin_jti).toBe(access.origin_jti);
    expect(tokens.refresh_token.split(".")).toHaveLength(5);
    expect(tokens.refresh_token.length).toBeGreaterThan(1500);
  });

  it("serves userInfo for a valid access token and refuses it after revocation", async () => {
    const tokens = await exchange("secretclient", SECRET);
    const info = await fetch(`${emu.url}/oauth2/userInfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(await info.json()).toMatchObject({ sub: USER.username, email: USER.email, username: USER.username });
    const revoke = await fetch(`${emu.url}/oauth2/revoke`, {
      ...form({ token: tokens.refresh_token }),
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic("secretclient", SECRET) },
    });
    expect(revoke.status).toBe(200);
    expect(emu.refreshTokenState(tokens.refresh_token)).toBe("revoked");
    expect((await fetch(`${emu.url}/oauth2/userInfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);
  });

  it("client_credentials: only allowed resource-server scopes, no user, no refresh token", async () => {
    const res = await fetch(`${emu.url}/oauth2/token`, {
      ...form({ grant_type: "client_credentials", scope: "reports/read" }),
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic("secretclient", SECRET) },
    });
    const body = (await res.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    expect(decodeJwt(body.access_token!)).toMatchObject({ sub: "secretclient", client_id: "secretclient", scope: "reports/read", token_use: "access" });
    const bad = await fetch(`${emu.url}/oauth2/token`, {
      ...form({ grant_type: "client_credentials", scope: "admin/all" }),
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic("secretclient", SECRET) },
    });
    expect(await bad.json()).toEqual({ error: "invalid_scope" });
    const publicClient = await fetch(`${emu.url}/oauth2/token`, form({ grant_type: "client_credentials", client_id: "publicclient" }));
    expect(await publicClient.json()).toEqual({ error: "unauthorized_client" });
  });
});

describe("JSON API through the AWS SDK", () => {
  it("computes SECRET_HASH like the BFF does (vector from openssl dgst -sha256 -hmac)", () => {
    expect(computeSecretHash("user", "client", "secret")).toBe(bffSecretHash("user", "client", "secret"));
    expect(computeSecretHash("user", "client", "secret")).toBe("wvW87lzZoI+qQCVGmWVBJLlucdJ65huAVP1z+0MgA6E=");
  });

  it("InitiateAuth REFRESH_TOKEN_AUTH needs the SECRET_HASH of the Cognito username, not the email", async () => {
    const { refresh_token } = await exchange("secretclient", SECRET);
    const attempt = (secretHash?: string) =>
      sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "secretclient", AuthParameters: { REFRESH_TOKEN: refresh_token, ...(secretHash ? { SECRET_HASH: secretHash } : {}) } }));
    await expect(attempt()).rejects.toMatchObject({ name: "NotAuthorizedException", message: expect.stringMatching(/configured for secret/) });
    await expect(attempt(computeSecretHash(USER.email, "secretclient", SECRET))).rejects.toMatchObject({ name: "NotAuthorizedException", message: expect.stringMatching(/secret hash/) });
    const ok = await attempt(computeSecretHash(USER.username, "secretclient", SECRET));
    expect(ok.AuthenticationResult).toMatchObject({ ExpiresIn: 3600, TokenType: "Bearer" });
    expect(ok.AuthenticationResult?.RefreshToken).toBeUndefined();
    expect(decodeJwt(ok.AuthenticationResult!.AccessToken!)).toMatchObject({ username: USER.username });
  });

  it("a public client refreshes without SECRET_HASH; unknown clients and tokens are refused", async () => {
    const { refresh_token } = await exchange("publicclient");
    const ok = await sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refresh_token } }));
    expect(ok.AuthenticationResult?.AccessToken).toBeTruthy();
    await expect(sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "nope", AuthParameters: { REFRESH_TOKEN: refresh_token } }))).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    await expect(sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: "garbage" } }))).rejects.toMatchObject({ name: "NotAuthorizedException" });
  });

  it("refresh tokens expire on the emulator's clock", async () => {
    await emu.close();
    emu = await startEmulator({ users: [USER], clients: [{ clientId: "publicclient", redirectUris: [REDIRECT], logoutUris: [] }], refreshTokenTtlSeconds: 100 });
    sdk.destroy();
    sdk = new CognitoIdentityProviderClient({ region: emu.region, endpoint: emu.url, maxAttempts: 1 });
    const { refresh_token } = await exchange("publicclient");
    emu.clock.advance(101);
    expect(emu.refreshTokenState(refresh_token)).toBe("expired");
    await expect(sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refresh_token } }))).rejects.toMatchObject({ name: "NotAuthorizedException" });
  });

  it("GetTokensFromRefreshToken rotates: retry inside the grace period works, reuse after it is RefreshTokenReuseException", async () => {
    const { refresh_token } = await exchange("rotating", SECRET);
    const get = (token: string, secret = SECRET) => sdk.send(new GetTokensFromRefreshTokenCommand({ ClientId: "rotating", ClientSecret: secret, RefreshToken: token }));
    await expect(get(refresh_token, "wrong")).rejects.toMatchObject({ name: "NotAuthorizedException" });
    const first = await get(refresh_token);
    const rotated = first.AuthenticationResult!.RefreshToken!;
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(refresh_token);
    expect(emu.refreshTokenState(refresh_token)).toBe("grace");
    const retry = await get(refresh_token);
    expect(retry.AuthenticationResult!.RefreshToken).toBe(rotated);
    emu.clock.advance(31);
    await expect(get(refresh_token)).rejects.toMatchObject({ name: "RefreshTokenReuseException" });
    expect((await get(rotated)).AuthenticationResult!.RefreshToken).toBeTruthy();
    // A rotating client has REFRESH_TOKEN_AUTH disabled.
    await expect(
      sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "rotating", AuthParameters: { REFRESH_TOKEN: rotated, SECRET_HASH: computeSecretHash(USER.username, "rotating", SECRET) } })),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
  });

  it("with a 0 s grace period the old refresh token is dead at once", async () => {
    emu.setClientRotation("rotating", { enabled: true, gracePeriodSeconds: 0 });
    const { refresh_token } = await exchange("rotating", SECRET);
    await sdk.send(new GetTokensFromRefreshTokenCommand({ ClientId: "rotating", ClientSecret: SECRET, RefreshToken: refresh_token }));
    await expect(sdk.send(new GetTokensFromRefreshTokenCommand({ ClientId: "rotating", ClientSecret: SECRET, RefreshToken: refresh_token }))).rejects.toMatchObject({ name: "RefreshTokenReuseException" });
  });

  it("RevokeToken needs the client's secret and refuses another client's token", async () => {
    const { refresh_token } = await exchange("secretclient", SECRET);
    await expect(sdk.send(new RevokeTokenCommand({ ClientId: "secretclient", Token: refresh_token }))).rejects.toMatchObject({ name: "NotAuthorizedException" });
    await expect(sdk.send(new RevokeTokenCommand({ ClientId: "publicclient", Token: refresh_token }))).rejects.toMatchObject({ name: "UnauthorizedException" });
    await sdk.send(new RevokeTokenCommand({ ClientId: "secretclient", ClientSecret: SECRET, Token: refresh_token }));
    expect(emu.refreshTokenState(refresh_token)).toBe("revoked");
    expect(emu.calls("RevokeToken")).toBe(3);
  });

  it("disabled and deleted users cannot refresh", async () => {
    const { refresh_token } = await exchange("publicclient");
    const refresh = () => sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refresh_token } }));
    emu.disableUser(USER.username);
    await expect(refresh()).rejects.toMatchObject({ name: "NotAuthorizedException", message: "User is disabled." });
    emu.deleteUser(USER.username);
    await expect(refresh()).rejects.toMatchObject({ name: "UserNotFoundException" });
  });
});

describe("faults and counters", () => {
  it("injects Cognito errors for a number of calls, as the SDK parses them", async () => {
    const { refresh_token } = await exchange("publicclient");
    const refresh = () => sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refresh_token } }));
    emu.fault("InitiateAuth", { error: { code: "TooManyRequestsException" }, times: 1 });
    await expect(refresh()).rejects.toMatchObject({ name: "TooManyRequestsException", $metadata: { httpStatusCode: 400 } });
    emu.fault("InitiateAuth", { error: { code: "InternalErrorException" }, times: 1 });
    await expect(refresh()).rejects.toMatchObject({ name: "InternalErrorException", $fault: "server", $metadata: { httpStatusCode: 500 } });
    expect((await refresh()).AuthenticationResult?.AccessToken).toBeTruthy();
    expect(emu.calls("InitiateAuth")).toBe(3);
    emu.resetCalls();
    expect(emu.calls()).toMatchObject({ InitiateAuth: 0 });
  });

  it("drops connections, delays answers and sends malformed bodies until cleared", async () => {
    const { refresh_token } = await exchange("publicclient");
    const refresh = () => sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refresh_token } }));
    emu.fault("InitiateAuth", { drop: true });
    await expect(refresh()).rejects.toThrow();
    await expect(refresh()).rejects.toThrow();
    emu.fault("InitiateAuth", { malformed: true });
    await expect(refresh()).rejects.toThrow();
    emu.fault("InitiateAuth", { delayMs: 300 });
    const started = performance.now();
    await refresh();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    emu.clearFaults();
    expect((await refresh()).AuthenticationResult?.AccessToken).toBeTruthy();
  });

  it("logout redirects only to a registered logout_uri", async () => {
    const ok = await fetch(`${emu.url}/logout?client_id=secretclient&logout_uri=${encodeURIComponent("http://app.test/")}`, { redirect: "manual" });
    expect([ok.status, ok.headers.get("location")]).toEqual([302, "http://app.test/"]);
    expect((await fetch(`${emu.url}/logout?client_id=secretclient&logout_uri=${encodeURIComponent("http://evil.test/")}`)).status).toBe(400);
  });
});
