/**
 * `identity_provider` at the emulator's authorize endpoint, as Cognito answers
 * it: Google goes to the emulated Google's consent page and back through
 * `/oauth2/idpresponse`, creating or linking the federated user; a provider
 * the pool or the app client does not offer is Cognito's own error page.
 */
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator, type EmulatorClient } from "../../src/emulator/index.js";
import { LOGIN_OPTION_UNAVAILABLE } from "../../src/emulator/federation.js";
import { authorizeUrl, formPost, parseForm, pkce, REDIRECT, SECRET, USER } from "./support.js";

const GOOGLE_ACCOUNT = { sub: "104729301847562910384", email: "grace@gmail.example", name: "Grace <Google>" };
const CLIENTS: EmulatorClient[] = [
  { clientId: "federated", clientSecret: SECRET, redirectUris: [REDIRECT], logoutUris: [], supportedIdentityProviders: ["COGNITO", "Google"] },
  { clientId: "poolonly", clientSecret: SECRET, redirectUris: [REDIRECT], logoutUris: [] },
  { clientId: "googleonly", clientSecret: SECRET, redirectUris: [REDIRECT], logoutUris: [], supportedIdentityProviders: ["Google"] },
];

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ users: [USER], clients: CLIENTS, googleAccounts: [GOOGLE_ACCOUNT] });
});
afterAll(() => emu.close());

function authorize(clientId: string, extra: Record<string, string>, challenge?: string, e = emu): string {
  return authorizeUrl(e, {
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: "openid email profile",
    state: "app-state",
    nonce: "n0nce",
    ...(challenge ? { code_challenge: challenge, code_challenge_method: "S256" } : {}),
    ...extra,
  });
}

/** authorize -> Google consent page -> consent -> idpresponse -> the app's redirect_uri, each hop asserted. */
async function googleSignIn(options: { email?: string; loginHint?: string; emulator?: Emulator } = {}) {
  const e = options.emulator ?? emu;
  const { verifier, challenge } = pkce();
  const hint: Record<string, string> = options.loginHint ? { login_hint: options.loginHint } : {};
  const start = await fetch(authorize("federated", { identity_provider: "Google", ...hint }, challenge, e), { redirect: "manual" });
  expect(start.status).toBe(302);
  const googleUrl = new URL(start.headers.get("location")!);
  expect(`${googleUrl.origin}${googleUrl.pathname}`).toBe(`${e.url}/_google/o/oauth2/v2/auth`);
  expect(googleUrl.searchParams.get("redirect_uri")).toBe(`${e.url}/oauth2/idpresponse`);
  // Cognito's own state towards the provider, never the app's.
  expect(googleUrl.searchParams.get("state")).not.toBe("app-state");
  const page = await fetch(googleUrl);
  expect(page.status).toBe(200);
  const html = await page.text();
  const { action, fields } = parseForm(html, googleUrl.toString());
  if (options.email) fields.email = options.email;
  const consent = await fetch(action, formPost(fields));
  expect(consent.status).toBe(302);
  const idpResponse = new URL(consent.headers.get("location")!);
  expect(`${idpResponse.origin}${idpResponse.pathname}`).toBe(`${e.url}/oauth2/idpresponse`);
  const back = await fetch(idpResponse, { redirect: "manual" });
  expect(back.status).toBe(302);
  const location = new URL(back.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  expect(location.searchParams.get("state")).toBe("app-state");
  const tokenRes = await fetch(
    `${e.url}/oauth2/token`,
    formPost({ grant_type: "authorization_code", code: location.searchParams.get("code")!, redirect_uri: REDIRECT, code_verifier: verifier, client_id: "federated", client_secret: SECRET }),
  );
  expect(tokenRes.status).toBe(200);
  const tokens = (await tokenRes.json()) as { id_token: string; access_token: string; refresh_token: string };
  return { html, idpResponse, tokens };
}

describe("identity_provider=Google", () => {
  it("skips the pool's form for the Google consent page, prefilled from login_hint, with a Continue as button", async () => {
    const { html } = await googleSignIn({ loginHint: GOOGLE_ACCOUNT.email });
    expect(html).toContain(`value="${GOOGLE_ACCOUNT.email}"`);
    expect(html).toContain("Continue as Grace &#60;Google&#62;");
    expect(html).not.toContain("<Google>");
    expect(html).not.toContain('name="password"');
  });

  it("creates the federated user as Cognito does: google_<sub>, identities as a JSON array, the group <pool>_Google", async () => {
    const { tokens } = await googleSignIn();
    const id = decodeJwt(tokens.id_token);
    const access = decodeJwt(tokens.access_token);
    const username = `google_${GOOGLE_ACCOUNT.sub}`;
    expect(id["cognito:username"]).toBe(username);
    expect(access.username).toBe(username);
    expect(id.sub).toMatch(/^[0-9a-f-]{36}$/);
    expect(id.sub).toBe(access.sub);
    expect(id["cognito:groups"]).toEqual([`${emu.poolId}_Google`]);
    expect(access["cognito:groups"]).toEqual([`${emu.poolId}_Google`]);
    expect(id.nonce).toBe("n0nce");
    expect(id.email).toBe(GOOGLE_ACCOUNT.email);
    expect(id.identities).toEqual([
      { userId: GOOGLE_ACCOUNT.sub, providerName: "Google", providerType: "Google", issuer: null, primary: "true", dateCreated: expect.stringMatching(/^\d{13}$/) },
    ]);
    // As a user attribute (userInfo) it is the JSON string of the same array.
    const info = (await (await fetch(`${emu.url}/oauth2/userInfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<string, unknown>;
    expect(typeof info.identities).toBe("string");
    expect(JSON.parse(info.identities as string)).toEqual(id.identities);
    expect(info.username).toBe(username);
  });

  it("a second sign-in with the same Google account links to the same user; another account is another user", async () => {
    const a = decodeJwt((await googleSignIn()).tokens.id_token);
    const b = decodeJwt((await googleSignIn()).tokens.id_token);
    const other = decodeJwt((await googleSignIn({ email: "someone.else@gmail.example" })).tokens.id_token);
    expect(b.sub).toBe(a.sub);
    expect(b.identities).toEqual(a.identities);
    expect(other.sub).not.toBe(a.sub);
    expect(other["cognito:username"]).toMatch(/^google_\d{21}$/);
    expect(other.email).toBe("someone.else@gmail.example");
  });

  it("refresh works for the federated user like for any other", async () => {
    const { tokens } = await googleSignIn();
    emu.clock.advance(60);
    const res = await fetch(`${emu.url}/oauth2/token`, formPost({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: "federated", client_secret: SECRET }));
    expect(res.status).toBe(200);
    const refreshed = (await res.json()) as { id_token: string; access_token: string };
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ username: `google_${GOOGLE_ACCOUNT.sub}`, "cognito:groups": [`${emu.poolId}_Google`] });
    expect(decodeJwt(refreshed.id_token).identities).toEqual(decodeJwt(tokens.id_token).identities);
  });

  it("in the provider variant the username keeps the provider's case: Google_<sub>", async () => {
    const local = await startEmulator({ clients: CLIENTS, googleAccounts: [GOOGLE_ACCOUNT], variants: { federatedUsernameCase: "provider" } });
    try {
      const { tokens } = await googleSignIn({ emulator: local });
      expect(decodeJwt(tokens.id_token)["cognito:username"]).toBe(`Google_${GOOGLE_ACCOUNT.sub}`);
      expect(decodeJwt(tokens.access_token).username).toBe(`Google_${GOOGLE_ACCOUNT.sub}`);
    } finally {
      await local.close();
    }
  });

  it("a federated user cannot sign in with the pool's password form", async () => {
    await googleSignIn();
    const url = authorize("federated", {});
    const { action, fields } = parseForm(await (await fetch(url)).text(), url);
    for (const login of [GOOGLE_ACCOUNT.email, `google_${GOOGLE_ACCOUNT.sub}`]) {
      const res = await fetch(action, formPost({ ...fields, username: login, password: "anything" }));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("Incorrect username or password.");
    }
  });

  // Found attacking it: the form looked users up by email in insertion order, so a Google user made
  // first shadowed a pool user with the same email, who then could not sign in with the right password.
  it("a pool user whose email a Google user already has still signs in with the form", async () => {
    const local = await startEmulator({ clients: CLIENTS, googleAccounts: [GOOGLE_ACCOUNT] });
    try {
      await googleSignIn({ emulator: local, email: "shared@example.com" });
      local.addUser({ ...USER, username: "pool-user-1", email: "shared@example.com" });
      const url = authorize("federated", {}, undefined, local);
      const { action, fields } = parseForm(await (await fetch(url)).text(), url);
      const res = await fetch(action, formPost({ ...fields, username: "shared@example.com", password: USER.password }));
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toMatch(/\?code=/);
    } finally {
      await local.close();
    }
  });

  it("the provider's answer works once: a replayed idpresponse, or a consent with an unknown state, is a 400 page", async () => {
    const { idpResponse } = await googleSignIn();
    const replay = await fetch(idpResponse, { redirect: "manual" });
    expect(replay.status).toBe(400);
    expect(replay.headers.get("location")).toBeNull();
    const forged = await fetch(`${emu.url}/_google/consent`, formPost({ state: "made-up", email: GOOGLE_ACCOUNT.email }));
    expect(forged.status).toBe(400);
    expect(forged.headers.get("location")).toBeNull();
  });
});

describe("a provider the pool or the app client does not offer", () => {
  async function expectUnavailable(clientId: string, extra: Record<string, string>): Promise<void> {
    const res = await fetch(authorize(clientId, extra), { redirect: "manual" });
    expect(res.status, JSON.stringify(extra)).toBe(302);
    const location = new URL(res.headers.get("location")!);
    // Cognito's own error page: never back to the app with error=.
    expect(`${location.origin}${location.pathname}`).toBe(`${emu.url}/error`);
    expect(location.searchParams.get("error")).toBe(LOGIN_OPTION_UNAVAILABLE);
    const page = await fetch(location);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain(LOGIN_OPTION_UNAVAILABLE);
  }

  it("an unknown provider, another case, Google for a client without it, or an idp_identifier is Cognito's Login option is not available page", async () => {
    await expectUnavailable("federated", { identity_provider: "Facebook" });
    await expectUnavailable("federated", { identity_provider: "google" });
    await expectUnavailable("poolonly", { identity_provider: "Google" });
    await expectUnavailable("federated", { idp_identifier: "example.com" });
    await expectUnavailable("googleonly", { identity_provider: "COGNITO" });
  });

  it("identity_provider=COGNITO is the pool's own sign-in form when the client supports it", async () => {
    for (const clientId of ["federated", "poolonly"]) {
      const res = await fetch(authorize(clientId, { identity_provider: "COGNITO" }), { redirect: "manual" });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('name="password"');
    }
  });
});
