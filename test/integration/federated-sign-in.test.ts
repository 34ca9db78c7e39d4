/**
 * Issue 14, part 1: federated sign-in, allow-listed. `identity_provider` on
 * `POST /auth/signin/cognito` reaches the Hosted UI only when it names one of
 * COGNITO_IDENTITY_PROVIDERS, once and exactly as given; a sign-in with Google
 * goes through the emulator's Google stand-in and `/oauth2/idpresponse`, and
 * the session shows the user's groups and provider.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CookieJar, parseForm } from "../helpers/cookie-jar.js";
import { callToken, CLIENT_ID, signIn, startHarness, type Harness } from "../helpers/harness.js";

const ALLOWED = "Google,Okta-SAML,Ärzte·IdP,COGNITO";
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    client: { supportedIdentityProviders: ["COGNITO", "Google"] },
    env: { COGNITO_IDENTITY_PROVIDERS: ALLOWED },
    emulator: { googleAccounts: [{ sub: "104729301847562910384", email: "grace@gmail.example", name: "Grace Google" }] },
  });
});
afterAll(async () => {
  await h?.close();
});

async function startSignIn(bffUrl: string, query: string, jar = new CookieJar()): Promise<Response> {
  const { csrfToken } = (await (await jar.fetch(`${bffUrl}/auth/csrf`)).json()) as { csrfToken: string };
  return jar.fetch(`${bffUrl}/auth/signin/cognito${query}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrfToken, callbackUrl: `${bffUrl}/` }),
  });
}

/** The authorize URL's parameters, sorted by name, repeats kept. */
function authorizeParams(location: string): Array<[string, string]> {
  const url = new URL(location);
  expect(`${url.origin}${url.pathname}`).toBe(`${h.emu.url}/oauth2/authorize`);
  return [...url.searchParams].sort(([a], [b]) => a.localeCompare(b));
}

function ownParams(): Array<[string, unknown]> {
  return [
    ["client_id", CLIENT_ID],
    ["code_challenge", expect.stringMatching(/^[\w-]{43}$/)],
    ["code_challenge_method", "S256"],
    ["nonce", expect.stringMatching(/^[\w-]{20,}$/)],
    ["redirect_uri", `${h.bff.url}/auth/callback/cognito`],
    ["response_type", "code"],
    ["scope", "openid email profile"],
    ["state", expect.stringMatching(/^[\w.-]{20,}$/)],
  ];
}

const sorted = (pairs: Array<[string, unknown]>) => pairs.sort(([a], [b]) => a.localeCompare(b));

async function expectRefused(bffUrl: string, logs: string[], query: string): Promise<void> {
  const before = logs.length;
  const res = await startSignIn(bffUrl, query);
  expect(res.status, query).toBe(400);
  expect(res.headers.get("location"), query).toBeNull();
  const body = (await res.json()) as { error: string; error_description: string };
  expect(body.error, query).toBe("invalid_request");
  expect(body.error_description, query).toMatch(/^(identity_provider must name an identity provider this service allows|Sign-in takes only)/);
  const line = logs.slice(before).map((l) => JSON.parse(l) as { path?: string; detail?: string }).find((l) => l.path === "/auth/signin/cognito");
  expect(line?.detail, query).toMatch(/^sign-in query parameter/);
}

/** csrf -> signin POST -> authorize -> Google consent page -> consent POST -> idpresponse -> callback, as a browser would. */
async function signInWithGoogle(bffUrl: string, query = "?identity_provider=Google", email?: string): Promise<{ jar: CookieJar; consentPage: string }> {
  const jar = new CookieJar();
  const start = await startSignIn(bffUrl, query, jar);
  expect(start.status).toBe(302);
  const authorize = await jar.fetch(start.headers.get("location")!);
  expect(authorize.status).toBe(302);
  const googleUrl = authorize.headers.get("location")!;
  expect(googleUrl.startsWith(`${h.emu.url}/_google/`)).toBe(true);
  const page = await jar.fetch(googleUrl);
  expect(page.status).toBe(200);
  const consentPage = await page.text();
  const { action, fields } = parseForm(consentPage, googleUrl);
  if (email) fields.email = email;
  const consent = await jar.fetch(action, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields) });
  expect(consent.status).toBe(302);
  const idpResponse = await jar.fetch(consent.headers.get("location")!);
  expect(idpResponse.status).toBe(302);
  const callbackUrl = idpResponse.headers.get("location")!;
  expect(callbackUrl.startsWith(`${bffUrl}/auth/callback/cognito?`)).toBe(true);
  const callback = await jar.fetch(callbackUrl);
  expect(callback.status).toBe(302);
  expect(jar.sessionCookieNames().length).toBeGreaterThan(0);
  return { jar, consentPage };
}

interface SessionBody {
  user: { id: string; username: string; email: string; groups: string[]; identity_provider: string | null };
}

describe("identity_provider is allow-listed", () => {
  it("an allowed provider reaches the authorize URL exactly once and exactly as given, next to exactly the BFF's own parameters", async () => {
    for (const provider of ["Google", "Okta-SAML", "Ärzte·IdP", "COGNITO"]) {
      const res = await startSignIn(h.bff.url, `?identity_provider=${encodeURIComponent(provider)}&login_hint=ada%40example.com&lang=de`);
      expect(res.status, provider).toBe(302);
      expect(authorizeParams(res.headers.get("location")!), provider).toEqual(
        sorted([...ownParams(), ["identity_provider", provider], ["login_hint", "ada@example.com"], ["lang", "de"]]),
      );
    }
  });

  it("a provider not in COGNITO_IDENTITY_PROVIDERS, in another case, repeated, or idp_identifier is 400 invalid_request with no redirect to Cognito", async () => {
    for (const query of [
      "?identity_provider=Facebook",
      "?identity_provider=google",
      "?identity_provider=Google%20",
      "?identity_provider=Google&identity_provider=Google",
      "?identity_provider=Google&identity%5Fprovider=Okta-SAML",
      "?identity_provider=Google,Okta-SAML",
      "?idp_identifier=example.com",
      "?identity_provider=Google&idp_identifier=example.com",
    ]) {
      await expectRefused(h.bff.url, h.bff.logs, query);
    }
  });

  it("without COGNITO_IDENTITY_PROVIDERS no provider may be asked for, COGNITO included, while a plain sign-in still works", async () => {
    const plain = await h.startBff({ COGNITO_IDENTITY_PROVIDERS: "" });
    expect(plain.config.cognito.identityProviders).toEqual([]);
    for (const query of ["?identity_provider=Google", "?identity_provider=COGNITO"]) await expectRefused(plain.url, plain.logs, query);
    expect((await startSignIn(plain.url, "?login_hint=ada%40example.com")).status).toBe(302);
  });
});

describe("a federated sign-in through HTTP", () => {
  it("signs in with Google: the session shows the group <pool>_Google and identity provider Google, and no token", async () => {
    const { jar, consentPage } = await signInWithGoogle(h.bff.url, "?identity_provider=Google&login_hint=grace%40gmail.example");
    expect(consentPage).toContain('value="grace@gmail.example"');
    expect(consentPage).toContain("Continue as Grace Google");
    const res = await jar.fetch(`${h.bff.url}/auth/session`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const session = JSON.parse(text) as SessionBody;
    expect(session.user).toMatchObject({
      username: "google_104729301847562910384",
      email: "grace@gmail.example",
      groups: [`${h.emu.poolId}_Google`],
      identity_provider: "Google",
    });
    expect(session.user.id).not.toBe("104729301847562910384");
    expect(text).not.toMatch(/eyJ|refresh_token|access_token"/);
  });

  it("/token works for the federated user and a refresh keeps the session, its group and its provider", async () => {
    const { jar } = await signInWithGoogle(h.bff.url);
    const first = await callToken(jar, h.bff.url);
    expect(first.status).toBe(200);
    const { access_token: firstToken } = (await first.json()) as { access_token: string };
    const claims = JSON.parse(Buffer.from(firstToken.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ username: "google_104729301847562910384", "cognito:groups": [`${h.emu.poolId}_Google`] });

    h.emu.resetCalls();
    h.emu.clock.advance(3600);
    const refreshed = await callToken(jar, h.bff.url);
    expect(refreshed.status).toBe(200);
    const { access_token: secondToken } = (await refreshed.json()) as { access_token: string };
    expect(secondToken).not.toBe(firstToken);
    expect(h.emu.calls("InitiateAuth") + h.emu.calls("token:refresh_token")).toBe(1);
    const session = (await (await jar.fetch(`${h.bff.url}/auth/session`)).json()) as SessionBody;
    expect(session.user).toMatchObject({ groups: [`${h.emu.poolId}_Google`], identity_provider: "Google" });
    // Neither token reached the log.
    const log = h.bff.logs.join("\n");
    for (const token of [firstToken, secondToken]) expect(log).not.toContain(token);
  });

  it("a second sign-in with the same Google account is the same user, not a new one", async () => {
    const first = await signInWithGoogle(h.bff.url, "?identity_provider=Google", "same@gmail.example");
    const second = await signInWithGoogle(h.bff.url, "?identity_provider=Google", "same@gmail.example");
    const ids = await Promise.all([first.jar, second.jar].map(async (jar) => ((await (await jar.fetch(`${h.bff.url}/auth/session`)).json()) as SessionBody).user.id));
    expect(ids[0]).toBe(ids[1]);
  });

  it("a user of the pool itself has no groups and the identity provider COGNITO", async () => {
    const jar = await signIn(h.bff.url);
    const session = (await (await jar.fetch(`${h.bff.url}/auth/session`)).json()) as SessionBody;
    expect(session.user).toMatchObject({ groups: [], identity_provider: "COGNITO" });
  });
});
