import {
  CognitoIdentityProviderClient,
  GetTokensFromRefreshTokenCommand,
  InitiateAuthCommand,
  ListUsersCommand,
  RevokeTokenCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { computeSecretHash, startEmulator, type Emulator } from "../../src/emulator/index.js";
import { CLIENTS, exchange, SECRET, sdkFor, USER } from "./support.js";

let emu: Emulator;
let sdk: CognitoIdentityProviderClient;
beforeAll(async () => {
  emu = await startEmulator({ users: [USER], clients: CLIENTS, refreshTokenTtlSeconds: 7 * 24 * 3600 });
  sdk = sdkFor(emu);
});
afterEach(() => emu.setClientRotation("rotating", { enabled: true, gracePeriodSeconds: 30 }));
afterAll(async () => {
  sdk.destroy();
  await emu.close();
});

const initiate = (clientId: string, refreshToken: string, secretHash?: string) =>
  sdk.send(
    new InitiateAuthCommand({
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: clientId,
      AuthParameters: { REFRESH_TOKEN: refreshToken, ...(secretHash ? { SECRET_HASH: secretHash } : {}) },
    }),
  );
/** GetTokensFromRefreshToken; `clientSecret: null` sends none. */
const getTokens = (refreshToken: string, clientId = "rotating", clientSecret: string | null = SECRET) =>
  sdk.send(new GetTokensFromRefreshTokenCommand({ ClientId: clientId, RefreshToken: refreshToken, ...(clientSecret !== null ? { ClientSecret: clientSecret } : {}) }));
const hashFor = (clientId: string) => computeSecretHash(USER.username, clientId, SECRET);

/** Raw JSON API call, for what the SDK would not send. */
const raw = (target: string, body: string) =>
  fetch(emu.url, { method: "POST", headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": target }, body });

describe("SECRET_HASH", () => {
  it("is Base64(HMAC-SHA256(secret, username + clientId)) (vector from openssl dgst -sha256 -hmac secret)", () => {
    expect(computeSecretHash("user", "client", "secret")).toBe("wvW87lzZoI+qQCVGmWVBJLlucdJ65huAVP1z+0MgA6E=");
  });
});

describe("InitiateAuth REFRESH_TOKEN_AUTH", () => {
  it("a client with a secret needs SECRET_HASH of the Cognito username: none, the email's or a wrong one is NotAuthorizedException", async () => {
    const { refresh_token } = await exchange(emu, "secretclient", SECRET);
    await expect(initiate("secretclient", refresh_token)).rejects.toMatchObject({
      name: "NotAuthorizedException",
      message: "Client secretclient is configured for secret but secret was not received",
      $metadata: { httpStatusCode: 400 },
    });
    for (const wrong of [computeSecretHash(USER.email, "secretclient", SECRET), computeSecretHash(USER.username, "secretclient", "other"), "garbage"]) {
      await expect(initiate("secretclient", refresh_token, wrong)).rejects.toMatchObject({
        name: "NotAuthorizedException",
        message: "Unable to verify secret hash for client secretclient",
      });
    }
  });

  it("answers new access and ID tokens, no refresh token, ChallengeParameters {}", async () => {
    const first = await exchange(emu, "secretclient", SECRET);
    const ok = await initiate("secretclient", first.refresh_token, hashFor("secretclient"));
    expect(Object.keys(ok.AuthenticationResult!).sort()).toEqual(["AccessToken", "ExpiresIn", "IdToken", "TokenType"]);
    expect(ok.AuthenticationResult).toMatchObject({ ExpiresIn: 3600, TokenType: "Bearer" });
    expect(ok.ChallengeParameters).toEqual({});
    const jwks = createRemoteJWKSet(new URL(`${emu.issuer}/.well-known/jwks.json`));
    const access = (await jwtVerify(ok.AuthenticationResult!.AccessToken!, jwks, { issuer: emu.issuer, currentDate: new Date(emu.clock.now()) })).payload;
    expect(access).toMatchObject({ username: USER.username, token_use: "access", origin_jti: decodeJwt(first.access_token).origin_jti, scope: "openid email" });
    const id = (await jwtVerify(ok.AuthenticationResult!.IdToken!, jwks, { issuer: emu.issuer, audience: "secretclient", currentDate: new Date(emu.clock.now()) })).payload;
    expect(id).toMatchObject({ "cognito:username": USER.username, token_use: "id" });
  });

  it("a public client refreshes without SECRET_HASH (the REFRESH_TOKEN alias too)", async () => {
    const { refresh_token } = await exchange(emu, "publicclient");
    expect((await initiate("publicclient", refresh_token)).AuthenticationResult?.AccessToken).toBeTruthy();
    const alias = await sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refresh_token } }));
    expect(alias.AuthenticationResult?.IdToken).toBeTruthy();
  });

  it("unknown clients, unknown or foreign tokens, other flows and missing parameters are refused with Cognito's exceptions", async () => {
    const { refresh_token } = await exchange(emu, "publicclient");
    await expect(initiate("nope", refresh_token)).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    await expect(initiate("publicclient", "garbage")).rejects.toMatchObject({ name: "NotAuthorizedException", message: "Invalid Refresh Token." });
    await expect(initiate("secretclient", refresh_token, hashFor("secretclient"))).rejects.toMatchObject({ name: "NotAuthorizedException", message: "Invalid Refresh Token." });
    await expect(
      sdk.send(new InitiateAuthCommand({ AuthFlow: "USER_PASSWORD_AUTH", ClientId: "publicclient", AuthParameters: { USERNAME: USER.email, PASSWORD: USER.password } })),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: {} }))).rejects.toMatchObject({
      name: "InvalidParameterException",
    });
  });

  it("a client with rotation enabled refuses REFRESH_TOKEN_AUTH", async () => {
    const { refresh_token } = await exchange(emu, "rotating", SECRET);
    await expect(initiate("rotating", refresh_token, hashFor("rotating"))).rejects.toMatchObject({
      name: "InvalidParameterException",
      message: "REFRESH_TOKEN_AUTH flow not enabled for this client",
    });
  });

  it("a revoked token says so; an expired one is refused after refreshTokenTtlSeconds on the emulator's clock", async () => {
    const revoked = await exchange(emu, "publicclient");
    await sdk.send(new RevokeTokenCommand({ ClientId: "publicclient", Token: revoked.refresh_token }));
    await expect(initiate("publicclient", revoked.refresh_token)).rejects.toMatchObject({ name: "NotAuthorizedException", message: "Refresh Token has been revoked" });

    const expiring = await exchange(emu, "publicclient");
    emu.clock.advance(7 * 24 * 3600 - 10);
    expect(emu.refreshTokenState(expiring.refresh_token)).toBe("active");
    expect((await initiate("publicclient", expiring.refresh_token)).AuthenticationResult?.AccessToken).toBeTruthy();
    emu.clock.advance(11);
    expect(emu.refreshTokenState(expiring.refresh_token)).toBe("expired");
    await expect(initiate("publicclient", expiring.refresh_token)).rejects.toMatchObject({ name: "NotAuthorizedException", message: "Refresh Token has expired" });
  });

  it("a disabled user is NotAuthorizedException 'User is disabled.'; a deleted one UserNotFoundException", async () => {
    const local = await startEmulator({ users: [USER], clients: CLIENTS });
    const localSdk = sdkFor(local);
    try {
      const { refresh_token } = await exchange(local, "publicclient");
      const refresh = () => localSdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refresh_token } }));
      local.disableUser(USER.username);
      await expect(refresh()).rejects.toMatchObject({ name: "NotAuthorizedException", message: "User is disabled." });
      local.deleteUser(USER.username);
      await expect(refresh()).rejects.toMatchObject({ name: "UserNotFoundException" });
    } finally {
      localSdk.destroy();
      await local.close();
    }
  });
});

describe("GetTokensFromRefreshToken", () => {
  it("a missing or wrong ClientSecret (sent raw, not hashed) is NotAuthorizedException", async () => {
    const { refresh_token } = await exchange(emu, "rotating", SECRET);
    await expect(getTokens(refresh_token, "rotating", null)).rejects.toMatchObject({ name: "NotAuthorizedException", message: /configured for secret/ });
    await expect(getTokens(refresh_token, "rotating", "wrongSecret")).rejects.toMatchObject({ name: "NotAuthorizedException", message: /secret hash/ });
    await expect(getTokens(refresh_token, "rotating", hashFor("rotating"))).rejects.toMatchObject({ name: "NotAuthorizedException" });
    expect(emu.refreshTokenState(refresh_token)).toBe("active");
  });

  it("without rotation: new access and ID tokens only", async () => {
    const { refresh_token } = await exchange(emu, "secretclient", SECRET);
    const res = await getTokens(refresh_token, "secretclient", SECRET);
    expect(Object.keys(res.AuthenticationResult!).sort()).toEqual(["AccessToken", "ExpiresIn", "IdToken", "TokenType"]);
    expect(emu.refreshTokenState(refresh_token)).toBe("active");
  });

  it("with rotation: a new refresh token; a retry inside the grace period works again; after it, RefreshTokenReuseException", async () => {
    const { refresh_token } = await exchange(emu, "rotating", SECRET);
    const first = await getTokens(refresh_token);
    const rotated = first.AuthenticationResult!.RefreshToken!;
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(refresh_token);
    expect(decodeJwt(first.AuthenticationResult!.AccessToken!).origin_jti).toBeTruthy();
    expect([emu.refreshTokenState(refresh_token), emu.refreshTokenState(rotated)]).toEqual(["grace", "active"]);

    emu.clock.advance(29);
    const retry = await getTokens(refresh_token);
    expect(retry.AuthenticationResult!.RefreshToken).toBe(rotated);
    emu.clock.advance(2);
    expect(emu.refreshTokenState(refresh_token)).toBe("rotated");
    await expect(getTokens(refresh_token)).rejects.toMatchObject({ name: "RefreshTokenReuseException", $metadata: { httpStatusCode: 400 } });

    const next = await getTokens(rotated);
    expect(next.AuthenticationResult!.RefreshToken).not.toBe(rotated);
  });

  it("with a 0 s grace period the old refresh token is dead at once", async () => {
    emu.setClientRotation("rotating", { enabled: true, gracePeriodSeconds: 0 });
    const { refresh_token } = await exchange(emu, "rotating", SECRET);
    await getTokens(refresh_token);
    expect(emu.refreshTokenState(refresh_token)).toBe("rotated");
    await expect(getTokens(refresh_token)).rejects.toMatchObject({ name: "RefreshTokenReuseException" });
  });

  it("the default grace period is 60 s", async () => {
    const { refresh_token } = await exchange(emu, "rotatingpublic");
    await getTokens(refresh_token, "rotatingpublic", null);
    emu.clock.advance(59);
    expect(emu.refreshTokenState(refresh_token)).toBe("grace");
    emu.clock.advance(2);
    await expect(getTokens(refresh_token, "rotatingpublic", null)).rejects.toMatchObject({ name: "RefreshTokenReuseException" });
  });

  it("turning rotation off for a client makes GetTokensFromRefreshToken stop rotating and REFRESH_TOKEN_AUTH work", async () => {
    emu.setClientRotation("rotating", undefined);
    const { refresh_token } = await exchange(emu, "rotating", SECRET);
    expect((await getTokens(refresh_token)).AuthenticationResult!.RefreshToken).toBeUndefined();
    expect((await initiate("rotating", refresh_token, hashFor("rotating"))).AuthenticationResult?.AccessToken).toBeTruthy();
    expect(() => emu.setClientRotation("nope", { enabled: true })).toThrow();
    expect(() => emu.setClientRotation("rotating", { enabled: true, gracePeriodSeconds: 61 })).toThrow(RangeError);
  });

  it("a revoked refresh token is NotAuthorizedException", async () => {
    const { refresh_token } = await exchange(emu, "rotating", SECRET);
    await sdk.send(new RevokeTokenCommand({ ClientId: "rotating", ClientSecret: SECRET, Token: refresh_token }));
    await expect(getTokens(refresh_token)).rejects.toMatchObject({ name: "NotAuthorizedException", message: "Refresh Token has been revoked" });
  });
});

describe("RevokeToken", () => {
  it("needs the client's secret, refuses another client's token and access tokens", async () => {
    const tokens = await exchange(emu, "secretclient", SECRET);
    await expect(sdk.send(new RevokeTokenCommand({ ClientId: "secretclient", Token: tokens.refresh_token }))).rejects.toMatchObject({ name: "NotAuthorizedException" });
    await expect(sdk.send(new RevokeTokenCommand({ ClientId: "secretclient", ClientSecret: "wrongSecret", Token: tokens.refresh_token }))).rejects.toMatchObject({
      name: "NotAuthorizedException",
    });
    await expect(sdk.send(new RevokeTokenCommand({ ClientId: "publicclient", Token: tokens.refresh_token }))).rejects.toMatchObject({ name: "UnauthorizedException" });
    await expect(sdk.send(new RevokeTokenCommand({ ClientId: "secretclient", ClientSecret: SECRET, Token: tokens.access_token }))).rejects.toMatchObject({
      name: "UnsupportedTokenTypeException",
    });
    expect(emu.refreshTokenState(tokens.refresh_token)).toBe("active");
  });

  it("revokes the token and its derived tokens; answers {} (also for an unknown token)", async () => {
    const tokens = await exchange(emu, "secretclient", SECRET);
    const res = await sdk.send(new RevokeTokenCommand({ ClientId: "secretclient", ClientSecret: SECRET, Token: tokens.refresh_token }));
    expect(res.$metadata.httpStatusCode).toBe(200);
    expect(emu.refreshTokenState(tokens.refresh_token)).toBe("revoked");
    const info = await fetch(`${emu.url}/oauth2/userInfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(info.status).toBe(401);
    await expect(sdk.send(new RevokeTokenCommand({ ClientId: "publicclient", Token: "a.b.c.d.e" }))).resolves.toBeTruthy();
  });
});

describe("the JSON API protocol", () => {
  it("errors carry x-amzn-ErrorType, __type and message, in application/x-amz-json-1.1", async () => {
    const res = await raw("AWSCognitoIdentityProviderService.InitiateAuth", JSON.stringify({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: "x" } }));
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/x-amz-json-1\.1/);
    expect(res.headers.get("x-amzn-errortype")).toBe("NotAuthorizedException");
    expect(await res.json()).toEqual({ __type: "NotAuthorizedException", message: "Invalid Refresh Token." });
  });

  it("an unknown target is UnknownOperationException; a body that is not JSON is SerializationException; no ClientId is InvalidParameterException", async () => {
    const unknown = await raw("AWSCognitoIdentityProviderService.DeleteUserPool", "{}");
    expect([unknown.status, ((await unknown.json()) as { __type: string }).__type]).toEqual([400, "UnknownOperationException"]);
    const notJson = await raw("AWSCognitoIdentityProviderService.InitiateAuth", "{nope");
    expect([notJson.status, ((await notJson.json()) as { __type: string }).__type]).toEqual([400, "SerializationException"]);
    const noClient = await raw("AWSCognitoIdentityProviderService.GetTokensFromRefreshToken", JSON.stringify({ RefreshToken: "x" }));
    expect([noClient.status, ((await noClient.json()) as { __type: string }).__type]).toEqual([400, "InvalidParameterException"]);
    expect(emu.calls("GetTokensFromRefreshToken")).toBeGreaterThan(0);
  });

  it("the SDK needs no AWS credentials for these unauthenticated operations and signs nothing; a signed operation would need them", async () => {
    const bare = sdkFor(emu, false);
    // Fail loudly if the SDK ever looks for credentials: no provider chain can succeed here.
    const noCredentials = new CognitoIdentityProviderClient({
      region: emu.region,
      endpoint: emu.url,
      maxAttempts: 1,
      credentials: () => Promise.reject(new Error("credentials were requested")),
    });
    let authorization: string | undefined = "unset";
    noCredentials.middlewareStack.add(
      (next) => async (args) => {
        authorization = (args.request as { headers: Record<string, string> }).headers.authorization;
        return next(args);
      },
      { step: "deserialize" },
    );
    try {
      const { refresh_token } = await exchange(emu, "publicclient");
      expect((await bare.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refresh_token } }))).AuthenticationResult).toBeTruthy();
      expect((await noCredentials.send(new GetTokensFromRefreshTokenCommand({ ClientId: "publicclient", RefreshToken: refresh_token }))).AuthenticationResult).toBeTruthy();
      expect(authorization).toBeUndefined();
      await expect(noCredentials.send(new ListUsersCommand({ UserPoolId: emu.poolId }))).rejects.toThrow("credentials were requested");
    } finally {
      bare.destroy();
      noCredentials.destroy();
    }
  });
});
