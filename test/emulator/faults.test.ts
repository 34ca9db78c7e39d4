import { GetTokensFromRefreshTokenCommand, InitiateAuthCommand, RevokeTokenCommand, type CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator, type Operation } from "../../src/emulator/index.js";
import { authorizeUrl, basic, CLIENTS, exchange, formPost, REDIRECT, SECRET, sdkFor, USER } from "./support.js";

let emu: Emulator;
let sdk: CognitoIdentityProviderClient;
let refreshToken: string;
beforeAll(async () => {
  emu = await startEmulator({ users: [USER], clients: CLIENTS });
  sdk = sdkFor(emu);
  refreshToken = (await exchange(emu, "publicclient")).refresh_token;
});
afterEach(() => {
  emu.clearFaults();
  emu.resetCalls();
});
afterAll(async () => {
  sdk.destroy();
  await emu.close();
});

const refresh = () => sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: refreshToken } }));
const tokenRefresh = () => fetch(`${emu.url}/oauth2/token`, formPost({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: "publicclient" }));

describe("error faults", () => {
  it("answer Cognito's error shape for `times` calls, parsed by the SDK into the named exception", async () => {
    emu.fault("InitiateAuth", { error: { code: "TooManyRequestsException", message: "Rate exceeded" }, times: 2 });
    for (let i = 0; i < 2; i++) {
      await expect(refresh()).rejects.toMatchObject({ name: "TooManyRequestsException", message: "Rate exceeded", $fault: "client", $metadata: { httpStatusCode: 400 } });
    }
    expect((await refresh()).AuthenticationResult?.AccessToken).toBeTruthy();
    expect(emu.calls("InitiateAuth")).toBe(3);
  });

  it("InternalErrorException defaults to HTTP 500 and parses as a server fault; other codes take the given status", async () => {
    emu.fault("GetTokensFromRefreshToken", { error: { code: "InternalErrorException" }, times: 1 });
    const get = () => sdk.send(new GetTokensFromRefreshTokenCommand({ ClientId: "publicclient", RefreshToken: refreshToken }));
    await expect(get()).rejects.toMatchObject({ name: "InternalErrorException", $fault: "server", $metadata: { httpStatusCode: 500 } });
    emu.fault("RevokeToken", { error: { code: "ServiceUnavailable", status: 503 }, times: 1 });
    await expect(sdk.send(new RevokeTokenCommand({ ClientId: "publicclient", Token: "a.b.c.d.e" }))).rejects.toMatchObject({
      name: "ServiceUnavailable",
      $metadata: { httpStatusCode: 503 },
    });
    expect((await get()).AuthenticationResult?.AccessToken).toBeTruthy();
  });

  it("on the token endpoint answer an OAuth {error} with the given status, per grant type", async () => {
    emu.fault("token:refresh_token", { error: { code: "temporarily_unavailable", status: 503 }, times: 1 });
    const res = await tokenRefresh();
    expect([res.status, await res.json()]).toEqual([503, { error: "temporarily_unavailable" }]);
    emu.fault("token:client_credentials", { error: { code: "invalid_client" } });
    expect((await tokenRefresh()).status).toBe(200);
    const cc = await fetch(`${emu.url}/oauth2/token`, formPost({ grant_type: "client_credentials" }, { authorization: basic("secretclient", SECRET) }));
    expect([cc.status, await cc.json()]).toEqual([400, { error: "invalid_client" }]);
    expect(emu.calls()).toMatchObject({ "token:refresh_token": 2, "token:client_credentials": 1, "token:authorization_code": 0 });
  });

  it("apply to browser endpoints and discovery too", async () => {
    emu.fault("authorize", { error: { code: "server_error" }, times: 1 });
    const url = authorizeUrl(emu, { response_type: "code", client_id: "publicclient", redirect_uri: REDIRECT, scope: "openid" });
    expect((await fetch(url)).status).toBe(500);
    expect((await fetch(url)).status).toBe(200);
    emu.fault("discovery", { error: { code: "server_error", status: 502 } });
    emu.fault("jwks", { malformed: true });
    expect((await fetch(`${emu.issuer}/.well-known/openid-configuration`)).status).toBe(502);
    const jwks = await fetch(`${emu.issuer}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    await expect(jwks.json()).rejects.toThrow(SyntaxError);
  });
});

describe("transport faults", () => {
  it("drop destroys the socket without an answer, until cleared", async () => {
    emu.fault("InitiateAuth", { drop: true });
    await expect(refresh()).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE|UND_ERR_SOCKET/) });
    await expect(refresh()).rejects.toThrow();
    await expect(tokenRefresh()).resolves.toMatchObject({ status: 200 });
    emu.fault("token:refresh_token", { drop: true, times: 1 });
    await expect(tokenRefresh()).rejects.toThrow(TypeError);
    emu.clearFaults();
    expect((await refresh()).AuthenticationResult?.AccessToken).toBeTruthy();
    expect(emu.calls("InitiateAuth")).toBe(3);
  });

  it("malformed answers 200 with a body that is not JSON; the SDK fails to parse it", async () => {
    emu.fault("InitiateAuth", { malformed: true, times: 1 });
    await expect(refresh()).rejects.toThrow();
    emu.fault("GetTokensFromRefreshToken", { malformed: true, times: 1 });
    const res = await fetch(emu.url, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AWSCognitoIdentityProviderService.GetTokensFromRefreshToken" },
      body: JSON.stringify({ ClientId: "publicclient", RefreshToken: refreshToken }),
    });
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow(SyntaxError);
    expect((await refresh()).AuthenticationResult?.AccessToken).toBeTruthy();
  });

  it("delayMs holds the answer, then answers normally, or with the error it is combined with", async () => {
    emu.fault("InitiateAuth", { delayMs: 300, times: 1 });
    let started = performance.now();
    expect((await refresh()).AuthenticationResult?.AccessToken).toBeTruthy();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    emu.fault("InitiateAuth", { delayMs: 200, error: { code: "TooManyRequestsException" }, times: 1 });
    started = performance.now();
    await expect(refresh()).rejects.toMatchObject({ name: "TooManyRequestsException" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    started = performance.now();
    await refresh();
    expect(performance.now() - started).toBeLessThan(190);
  });

  it("a delay longer than the client's timeout lets the client abort; the emulator stays healthy", async () => {
    emu.fault("userInfo", { delayMs: 1000, times: 1 });
    await expect(fetch(`${emu.url}/oauth2/userInfo`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect((await fetch(`${emu.issuer}/.well-known/jwks.json`)).status).toBe(200);
  });
});

describe("call counters", () => {
  it("count every request per operation, failed ones included, and reset", async () => {
    await refresh();
    await expect(sdk.send(new InitiateAuthCommand({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "publicclient", AuthParameters: { REFRESH_TOKEN: "bad" } }))).rejects.toThrow();
    await fetch(`${emu.url}/logout?client_id=publicclient&logout_uri=x`);
    await fetch(`${emu.url}/oauth2/userInfo`);
    await fetch(`${emu.url}/oauth2/revoke`, formPost({ token: "a.b.c.d.e", client_id: "publicclient" }));
    const all = emu.calls();
    const expected: Partial<Record<Operation, number>> = { InitiateAuth: 2, logout: 1, userInfo: 1, revoke: 1, GetTokensFromRefreshToken: 0, login: 0 };
    expect(all).toMatchObject(expected);
    expect(Object.keys(all)).toHaveLength(14);
    emu.resetCalls();
    expect(Object.values(emu.calls()).every((n) => n === 0)).toBe(true);
  });
});
