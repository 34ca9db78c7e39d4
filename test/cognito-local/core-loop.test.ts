/**
 * The core loop against cognito-local as published (npm `cognito-local`), not
 * our own emulator: sign-in through its login page, GET /token, a refresh
 * through its InitiateAuth, sign-out. What it does differently from Cognito,
 * and what the BFF's settings for it are:
 * - pool ids `local_<id>` (no region): accepted with COGNITO_ENDPOINT set;
 * - no `nonce` in ID tokens: COGNITO_NONCE_CHECK=false (the last test shows why);
 * - a discovery document naming port 9229 and no endpoints: COGNITO_DOMAIN set,
 *   so sign-in and /readyz never read it;
 * - `/oauth2/token` wants `client_id` in the body: COGNITO_TOKEN_AUTH_METHOD=client_secret_post;
 * - `expires_in: 3600` whatever the token says, and no `ExpiresIn` from InitiateAuth;
 * - no GetTokensFromRefreshToken (so no COGNITO_REFRESH_TOKEN_ROTATION).
 * Its clock is the real one; the BFF's `now` is moved ahead to reach a refresh.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { InitiateAuthCommand } from "@aws-sdk/client-cognito-identity-provider";
import { decodeJwt } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp, type BffApp } from "../../src/app.js";
import { createCognitoGateway } from "../../src/cognito/cognito-gateway.js";
import { loadConfig, type Config } from "../../src/config.js";
import { checkCognito } from "../../src/health/readiness.js";
import { createLogger } from "../../src/log.js";
import { startCognitoLocal, type CognitoLocal, type CognitoLocalUser } from "../helpers/cognito-local.js";
import { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, signIn, TEST_SECRET } from "../helpers/harness.js";

interface LocalBff {
  url: string;
  config: Config;
  bff: BffApp;
  logs: string[];
  /** Moves the BFF's clock (not cognito-local's) this many seconds ahead of real time. */
  setOffsetSeconds(seconds: number): void;
  close(): Promise<void>;
}

let cl: CognitoLocal;
let user: CognitoLocalUser;
const running: LocalBff[] = [];

beforeAll(async () => {
  cl = await startCognitoLocal();
  user = await cl.createUser("ada@example.com", "Correct-Horse-9");
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await cl?.close();
});

async function startBff(env: Record<string, string> = {}): Promise<LocalBff> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = await cl.createClient({ callbackUrls: [`${url}/auth/callback/cognito`], logoutUrls: [`${url}/`] });
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "info",
    PUBLIC_URL: url,
    AUTH_SECRET: TEST_SECRET,
    COGNITO_ISSUER: cl.issuer,
    COGNITO_CLIENT_ID: client.clientId,
    COGNITO_CLIENT_SECRET: client.clientSecret!,
    COGNITO_TOKEN_AUTH_METHOD: "client_secret_post",
    COGNITO_DOMAIN: cl.url,
    COGNITO_ENDPOINT: cl.url,
    COGNITO_NONCE_CHECK: "false",
    COGNITO_TIMEOUT_MS: "2000",
    ...env,
  });
  const logs: string[] = [];
  const log = createLogger({ level: "info", destination: { write: (line: string) => void logs.push(line) } });
  const cognito = createCognitoGateway(config.cognito);
  let offsetMs = 0;
  const bff = await createApp({ config, cognito, log, now: () => Date.now() + offsetMs });
  server.on("request", bff.app);
  const entry: LocalBff = {
    url,
    config,
    bff,
    logs,
    setOffsetSeconds: (seconds) => (offsetMs = seconds * 1000),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      cognito.destroy();
      await bff.close();
    },
  };
  running.push(entry);
  return entry;
}

interface TokenBody {
  access_token: string;
  expires_at: number;
  expires_in: number;
}

async function token(jar: CookieJar, b: LocalBff, path = "/token"): Promise<{ res: Response; body: TokenBody }> {
  const res = await callToken(jar, b.url, path);
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  return { res, body: (await res.json()) as TokenBody };
}

describe("against cognito-local", () => {
  it("takes the region-less pool id and checks readiness without its discovery document", async () => {
    const b = await startBff();
    expect(b.config.cognito).toMatchObject({ userPoolId: cl.poolId, region: "us-east-1", nonceCheck: false });
    expect(cl.poolId).toMatch(/^local_\w+$/);
    expect(b.config.warnings.some((w) => w.startsWith("COGNITO_NONCE_CHECK is false"))).toBe(true);
    // Its discovery document names no endpoints (and port 9229): only the JWKS at its fixed place is usable.
    await expect(checkCognito(cl.issuer, 2000)).rejects.toThrow("discovery has no authorization_endpoint");
    await expect(checkCognito(cl.issuer, 2000, fetch, cl.url)).resolves.toBeUndefined();
    const res = await fetch(`${b.url}/readyz`);
    const body = (await res.json()) as { checks: { cognito: { status: string; error?: string } } };
    expect(body.checks.cognito, JSON.stringify(body.checks.cognito)).toMatchObject({ status: "up" });
    expect(res.status).toBe(200);
  });

  it("signs in through its login page, serves /token, refreshes through InitiateAuth and signs out", async () => {
    const b = await startBff();
    const jar = await signIn(b.url, user);

    // GET /token: the access token of cognito-local, expires_at its own exp.
    const first = await token(jar, b);
    const claims = decodeJwt(first.body.access_token);
    expect(claims).toMatchObject({ iss: cl.issuer, token_use: "access", username: user.username, sub: user.sub });
    expect(first.body.expires_at).toBe(claims.exp);
    expect(first.body.expires_in).toBeGreaterThan(3500);
    expect(first.body.expires_in).toBeLessThanOrEqual(3600);
    const { session } = await b.bff.sessions.read(jar.header());
    expect(session).toMatchObject({ cognito_username: user.username, cognito_sub: user.sub });
    const refreshToken = session!.refresh_token;

    // 30 s before expiry on the BFF's clock (inside the 60 s skew): GET /token refreshes.
    b.setOffsetSeconds(claims.exp! - 30 - Math.floor(Date.now() / 1000));
    const refreshed = await token(jar, b);
    expect(refreshed.body.access_token).not.toBe(first.body.access_token);
    const newClaims = decodeJwt(refreshed.body.access_token);
    expect(newClaims).toMatchObject({ iss: cl.issuer, username: user.username });
    expect(refreshed.body.expires_at).toBe(newClaims.exp);
    expect(refreshed.res.headers.getSetCookie().some((c) => c.startsWith("authjs.session-token"))).toBe(true);
    // cognito-local's InitiateAuth returns no refresh token: the session keeps its own.
    expect((await b.bff.sessions.read(jar.header())).session).toMatchObject({ refresh_token: refreshToken, expires_at: newClaims.exp });

    // Back on the real clock the refreshed token is fresh: served as is, no new cookie.
    b.setOffsetSeconds(0);
    const again = await token(jar, b);
    expect(again.body.access_token).toBe(refreshed.body.access_token);
    expect(again.res.headers.getSetCookie()).toEqual([]);

    // Sign-out with CSRF: the session ends here and the refresh token at cognito-local.
    const { csrfToken } = (await (await jar.fetch(`${b.url}/auth/csrf`)).json()) as { csrfToken: string };
    const out = await jar.fetch(`${b.url}/auth/signout`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, callbackUrl: `${b.url}/` }),
    });
    expect(out.status).toBe(302);
    expect(jar.sessionCookieNames()).toEqual([]);
    expect((await callToken(jar, b.url)).status).toBe(401);
    await expect(
      cl.sdk.send(
        new InitiateAuthCommand({ ClientId: b.config.cognito.clientId, AuthFlow: "REFRESH_TOKEN_AUTH", AuthParameters: { REFRESH_TOKEN: refreshToken } }),
      ),
    ).rejects.toMatchObject({ name: "NotAuthorizedException" });
    expect(b.logs.join("")).not.toContain(refreshToken.slice(0, 40));
  });

  it("with the nonce check on, sign-in fails and the log says why (cognito-local puts no nonce in its ID token)", async () => {
    const b = await startBff({ COGNITO_NONCE_CHECK: "true" });
    await expect(signIn(b.url, user)).rejects.toThrow(/no session cookie/);
    const errors = b.logs.map((line) => JSON.parse(line) as { level: number; msg: string; authjs?: string; message?: string }).filter((l) => l.level >= 50);
    expect(errors.length, b.logs.join("")).toBeGreaterThan(0);
    expect(JSON.stringify(errors)).toMatch(/nonce/i);
  });
});
