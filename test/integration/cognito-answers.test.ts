/**
 * The answers real Cognito gives, in each of its wordings and shapes, through
 * the real HTTP interface: expiry taken from the token itself, SECRET_HASH
 * refusals in both wordings, a NotAuthorizedException in a wording nobody
 * knows, Lambda trigger failures, and a rotation whose answer was lost.
 */
import { decodeJwt } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import type { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, CLIENT_ID, CLIENT_SECRET, signIn, startHarness, type Harness, type HarnessOptions } from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface TokenBody {
  access_token: string;
  expires_at: number;
  expires_in: number;
}

async function signedIn(options: HarnessOptions): Promise<{ h: Harness; jar: CookieJar }> {
  h = await startHarness(options);
  return { h, jar: await signIn(h.bff.url) };
}

async function token(jar: CookieJar, harness: Harness): Promise<TokenBody> {
  const res = await callToken(jar, harness.bff.url);
  expect(res.status).toBe(200);
  return (await res.json()) as TokenBody;
}

/** Set-Cookie lines that end a session cookie. */
const clearing = (res: Response) => res.headers.getSetCookie().filter((c) => /session-token/.test(c) && /Max-Age=0/.test(c));

describe("expiry comes from the access token itself", () => {
  it("a token endpoint that says expires_in 3600 for a 120 s token: /token reports the token's own exp, and refreshes before it", async () => {
    const { h, jar } = await signedIn({ emulator: { accessTokenTtlSeconds: 120, variants: { tokenEndpointExpiresIn: 3600 } } });
    const first = await token(jar, h);
    expect(first.expires_at).toBe(decodeJwt(first.access_token).exp);
    expect(first.expires_in).toBeLessThanOrEqual(120);

    h.emu.clock.advance(70); // 50 s left: inside the refresh window, long before the 3600 s the answer claimed
    const second = await token(jar, h);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.expires_at).toBe(decodeJwt(second.access_token).exp);
  });

  it("an InitiateAuth answer without ExpiresIn (cognito-local) refreshes once, and expires_at is the new token's exp", async () => {
    const { h, jar } = await signedIn({ emulator: { accessTokenTtlSeconds: 3600, variants: { apiExpiresIn: false } } });
    h.emu.clock.advance(3600);
    const refreshed = await token(jar, h);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    expect(refreshed.expires_at).toBe(decodeJwt(refreshed.access_token).exp);
    expect(refreshed.expires_in).toBeGreaterThan(3500);
    h.emu.clock.advance(60);
    expect((await token(jar, h)).access_token).toBe(refreshed.access_token);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
  });
});

describe("Cognito's refusals, in each of their wordings", () => {
  it.each(["unable-to-verify", "does-not-match"] as const)(
    "a SECRET_HASH Cognito does not accept (%s wording) is 500 and keeps the session; it works again once the secret matches",
    async (wording) => {
      const { h, jar } = await signedIn({ emulator: { accessTokenTtlSeconds: 3600, variants: { secretHashWording: wording } } });
      h.emu.clock.advance(3600);
      // The app client's secret was rotated at Cognito, and the BFF still has the old one.
      h.emu.addClient({ clientId: CLIENT_ID, clientSecret: "rotated-at-cognito-0123456789abcdefghij", redirectUris: [], logoutUris: [] });
      const res = await callToken(jar, h.bff.url);
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ error: "internal_error" });
      expect(res.headers.getSetCookie()).toEqual([]);
      const said = wording === "does-not-match" ? `SecretHash does not match for the client: ${CLIENT_ID}` : `Unable to verify secret hash for client ${CLIENT_ID}`;
      expect(h.bff.logs.join("\n")).toContain(said);
      expect(h.bff.logs.join("\n")).not.toContain(CLIENT_SECRET);

      h.emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [], logoutUris: [] });
      expect((await callToken(jar, h.bff.url)).status).toBe(200);
    },
  );

  it("a NotAuthorizedException in a wording nobody has seen keeps the session: 500, logged with its message, and counted", async () => {
    const { h, jar } = await signedIn({ emulator: { accessTokenTtlSeconds: 3600 } });
    h.emu.clock.advance(3600);
    h.emu.fault("InitiateAuth", { error: { code: "NotAuthorizedException", message: "Token is not valid for a new reason" }, times: 1 });
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(500);
    expect(clearing(res)).toEqual([]);
    const line = h.bff.logs.find((l) => l.includes("unrecognized NotAuthorizedException wording"));
    expect(line).toContain("Token is not valid for a new reason");
    expect(JSON.parse(line!)).toMatchObject({ level: 50, status: 500 });
    const counted = (await h.bff.bff.metrics.cognitoErrors.get()).values.find((v) => v.labels.code === "NotAuthorizedException_unrecognized");
    expect(counted).toMatchObject({ labels: { operation: "InitiateAuth" }, value: 1 });
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
  });

  it("a pre-token-generation trigger that denies the user (UserLambdaValidationException) ends the session", async () => {
    const { h, jar } = await signedIn({ emulator: { accessTokenTtlSeconds: 3600 } });
    h.emu.clock.advance(3600);
    h.emu.fault("InitiateAuth", { error: { code: "UserLambdaValidationException", message: "PreTokenGeneration failed with error Access revoked." } });
    const names = jar.sessionCookieNames();
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "session_expired" });
    expect(clearing(res).map((c) => c.split("=")[0]).sort()).toEqual(names.sort());
    expect(h.emu.calls("InitiateAuth")).toBe(1);
  });

  it.each(["UnexpectedLambdaException", "InvalidLambdaResponseException"])(
    "%s (a trigger that timed out or answered garbage) is 503 with Retry-After, keeps the session, and is retried",
    async (code) => {
      const { h, jar } = await signedIn({ emulator: { accessTokenTtlSeconds: 3600 }, env: { COGNITO_MAX_ATTEMPTS: "2" } });
      h.emu.clock.advance(3600);
      h.emu.fault("InitiateAuth", { error: { code, message: "PreTokenGeneration invocation failed due to error Socket timeout while invoking Lambda function." }, times: 2 });
      const res = await callToken(jar, h.bff.url);
      expect(res.status).toBe(503);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(h.emu.calls("InitiateAuth")).toBe(2);
      expect((await callToken(jar, h.bff.url)).status).toBe(200);
    },
  );
});

describe("a rotation whose answer was lost (Cognito rotated, the BFF never heard)", () => {
  it.each([
    [0, 401],
    [10, 200],
  ])("with a grace period of %i s, the user gets %i", async (grace, status) => {
    const { h, jar } = await signedIn({
      emulator: { accessTokenTtlSeconds: 3600 },
      client: { rotation: { enabled: true, gracePeriodSeconds: grace } },
      env: { COGNITO_REFRESH_TOKEN_ROTATION: "true" },
    });
    const original = (await h.bff.bff.sessions.read(jar.header())).session!.refresh_token;
    h.emu.clock.advance(3600);
    h.emu.fault("GetTokensFromRefreshToken", { dropAnswer: true, times: 1 });

    const res = await callToken(jar, h.bff.url);
    // The lost answer, then the BFF's retry with the same (now rotated-out) refresh token.
    expect(h.emu.calls("GetTokensFromRefreshToken")).toBe(2);
    expect(res.status).toBe(status);
    if (grace === 0) {
      // Cognito invalidated the old token at once: the retry is refused, and only a new sign-in helps.
      expect(h.emu.refreshTokenState(original)).toBe("rotated");
      expect(await res.json()).toMatchObject({ error: "session_expired" });
      expect(jar.sessionCookieNames()).toEqual([]);
      return;
    }
    // Inside the grace period the retry gets the successor, which the session now holds and uses.
    const successor = (await h.bff.bff.sessions.read(jar.header())).session!.refresh_token;
    expect(successor).not.toBe(original);
    expect(h.emu.refreshTokenState(successor)).toBe("active");
    h.emu.clock.advance(3600);
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
    expect(h.emu.refreshTokenState(successor)).not.toBe("active");
  });
});

describe("sign-in failures say why", () => {
  it("an ID token without the nonce (cognito-local) fails sign-in, and the log gives the cause chain, never a code or token", async () => {
    h = await startHarness({ emulator: { variants: { idTokenNonce: false } } });
    let callbackUrl = "";
    await expect(
      signIn(h.bff.url, undefined, undefined, async (step, response) => {
        if (step === "callback") callbackUrl = response.url;
      }),
    ).rejects.toThrow(/no session cookie/);
    const lines = h.bff.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const failure = lines.find((l) => l.msg === "Auth.js error");
    expect(failure).toMatchObject({ level: 50, authjs: "CallbackRouteError" });
    expect(String(failure!.reason)).toMatch(/^CallbackRouteError <- \w+: .*nonce/);
    expect(String(failure!.reason)).not.toContain("errors.authjs.dev");
    const code = new URL(callbackUrl).searchParams.get("code");
    expect(code).toBeTruthy();
    expect(h.bff.logs.join("\n")).not.toContain(code!);
    expect(h.bff.logs.join("\n")).not.toMatch(/eyJ[\w-]{10,}/);
  });

  it("with COGNITO_NONCE_CHECK=false the same sign-in succeeds", async () => {
    h = await startHarness({ emulator: { variants: { idTokenNonce: false } }, env: { COGNITO_NONCE_CHECK: "false" } });
    const jar = await signIn(h.bff.url);
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
  });

  it("an Auth.js warning that comes with every request is logged once", async () => {
    h = await startHarness();
    const saved = process.env.AUTH_URL;
    // Auth.js reads AUTH_URL itself, and warns env-url-basepath-redundant on every request when it names the base path.
    process.env.AUTH_URL = `${h.bff.url}/auth`;
    try {
      for (let i = 0; i < 3; i++) expect((await fetch(`${h.bff.url}/auth/session`)).status).toBe(200);
    } finally {
      if (saved === undefined) delete process.env.AUTH_URL;
      else process.env.AUTH_URL = saved;
    }
    const warnings = h.bff.logs.filter((l) => l.includes("env-url-basepath-redundant"));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, authjs: "env-url-basepath-redundant" });
  });
});
