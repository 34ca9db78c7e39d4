import { RevokeTokenCommand, CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { afterEach, describe, expect, it } from "vitest";
import { callToken, CLIENT_ID, CLIENT_SECRET, signIn, startHarness, type Harness } from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function expiredSession(options: Parameters<typeof startHarness>[0] = {}) {
  h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 }, ...options });
  const jar = await signIn(h.bff.url);
  h.emu.clock.advance(3600);
  return { h, jar };
}

describe("refresh failures", () => {
  it("a revoked refresh token gives 401 session_expired and clears every session cookie", async () => {
    const { h, jar } = await expiredSession();
    const { session } = await h.bff.bff.sessions.read(jar.header());
    const sdk = new CognitoIdentityProviderClient({ region: h.emu.region, endpoint: h.emu.url });
    await sdk.send(new RevokeTokenCommand({ ClientId: CLIENT_ID, ClientSecret: CLIENT_SECRET, Token: session!.refresh_token }));
    sdk.destroy();

    const cookieNames = jar.sessionCookieNames();
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "session_expired" });
    const cleared = res.headers.getSetCookie().filter((c) => /Max-Age=0/.test(c)).map((c) => c.split("=")[0]);
    expect(cleared.sort()).toEqual(cookieNames.sort());
    expect(jar.sessionCookieNames()).toEqual([]);
    expect((await callToken(jar, h.bff.url)).status).toBe(401);
  });

  it.each([
    ["TooManyRequestsException", 400, "5"],
    ["InternalErrorException", 500, "2"],
  ])("%s from Cognito gives 503 with Retry-After, and the same cookie works once Cognito recovers", async (code, status, retryAfter) => {
    const { h, jar } = await expiredSession();
    const cookie = jar.header();
    h.emu.fault("InitiateAuth", { error: { code, status } });
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe(retryAfter);
    expect(await res.json()).toMatchObject({ error: "temporarily_unavailable" });
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(jar.header()).toBe(cookie);
    // Bounded retries: the SDK tries at most COGNITO_MAX_ATTEMPTS (3) times.
    expect(h.emu.calls("InitiateAuth")).toBeGreaterThanOrEqual(1);
    expect(h.emu.calls("InitiateAuth")).toBeLessThanOrEqual(3);

    h.emu.clearFaults();
    const recovered = await callToken(jar, h.bff.url);
    expect(recovered.status).toBe(200);
  });

  it("a transient failure inside /auth/session keeps the session too", async () => {
    const { h, jar } = await expiredSession();
    h.emu.fault("InitiateAuth", { error: { code: "InternalErrorException", status: 500 } });
    const res = await jar.fetch(`${h.bff.url}/auth/session`);
    expect(res.status).toBe(200);
    expect(jar.sessionCookieNames().length).toBeGreaterThan(0);
    h.emu.clearFaults();
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
  });

  it("a dropped connection and a Cognito slower than the deadline give 503 within the deadline", async () => {
    const { h, jar } = await expiredSession({ env: { COGNITO_TIMEOUT_MS: "1000" } });
    h.emu.fault("InitiateAuth", { drop: true });
    expect((await callToken(jar, h.bff.url)).status).toBe(503);
    h.emu.clearFaults();

    h.emu.fault("InitiateAuth", { delayMs: 5000 });
    const started = performance.now();
    const res = await callToken(jar, h.bff.url);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(503);
    expect(elapsed).toBeLessThan(3000);
    h.emu.clearFaults();
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
  });

  it("a malformed answer from Cognito is transient", async () => {
    const { h, jar } = await expiredSession();
    h.emu.fault("InitiateAuth", { malformed: true });
    expect((await callToken(jar, h.bff.url)).status).toBe(503);
    h.emu.clearFaults();
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
  });

  it("a wrong client secret is our misconfiguration: 500, and the session is not ended", async () => {
    const { h, jar } = await expiredSession();
    const wrong = await h.startBff({ COGNITO_CLIENT_SECRET: "not-the-client-secret-at-all-0000" });
    const res = await callToken(jar, wrong.url);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: "internal_error" });
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
  });

  it("a user deleted at Cognito ends the session", async () => {
    const { h, jar } = await expiredSession();
    h.emu.deleteUser("7d4e2a9c-0b1f-4c3e-9a8d-5f6e7a8b9c0d");
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "session_expired" });
  });
});
