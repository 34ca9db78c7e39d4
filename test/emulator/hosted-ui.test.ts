import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { authorizeUrl, CLIENTS, formPost, parseForm, pkce, REDIRECT, signIn, USER } from "./support.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ users: [USER], clients: CLIENTS });
});
afterEach(() => emu.clearFaults());
afterAll(() => emu.close());

const base = { response_type: "code", client_id: "publicclient", redirect_uri: REDIRECT, scope: "openid", state: "s" };
const errorOf = async (params: Record<string, string>) => {
  const res = await fetch(authorizeUrl(emu, params), { redirect: "manual" });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  return Object.fromEntries(location.searchParams);
};

describe("GET /oauth2/authorize refuses bad requests", () => {
  it("an unknown client_id or an unregistered redirect_uri is a 400 page, never a redirect", async () => {
    for (const params of [
      { ...base, client_id: "nope" },
      { ...base, redirect_uri: "http://evil.test/auth/callback/cognito" },
      { ...base, redirect_uri: `${REDIRECT}/` },
      { ...base, redirect_uri: "" },
    ]) {
      const res = await fetch(authorizeUrl(emu, params), { redirect: "manual" });
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
    }
  });

  it("once redirect_uri is trusted, errors go back to it with error and state", async () => {
    expect(await errorOf({ ...base, response_type: "token" })).toEqual({ error: "unsupported_response_type", state: "s" });
    expect(await errorOf({ ...base, scope: "openid admin/all" })).toEqual({ error: "invalid_scope", state: "s" });
    expect(await errorOf({ ...base, scope: "email" })).toEqual({ error: "invalid_scope", state: "s" });
    expect(await errorOf({ ...base, code_challenge: pkce().challenge, code_challenge_method: "plain" })).toEqual({ error: "invalid_request", state: "s" });
    expect(await errorOf({ ...base, code_challenge: pkce().challenge })).toEqual({ error: "invalid_request", state: "s" });
    expect(await errorOf({ ...base, code_challenge_method: "S256" })).toEqual({ error: "invalid_request", state: "s" });
  });
});

describe("the sign-in form", () => {
  it("a wrong password or unknown user re-renders the form with Cognito's message, status 200, no redirect", async () => {
    const url = authorizeUrl(emu, base);
    const { action, fields } = parseForm(await (await fetch(url)).text(), url);
    for (const [username, password] of [[USER.email, "wrong"], ["nobody@example.com", USER.password]]) {
      const res = await fetch(action, formPost({ ...fields, username: username!, password: password! }));
      expect(res.status).toBe(200);
      expect(res.headers.get("location")).toBeNull();
      const html = await res.text();
      expect(html).toContain("Incorrect username or password.");
      // The form still carries the request, so the user can try again.
      expect(parseForm(html, url).fields).toMatchObject({ client_id: "publicclient", state: "s" });
    }
  });

  it("a disabled user cannot sign in", async () => {
    const local = await startEmulator({ users: [USER], clients: CLIENTS });
    try {
      local.disableUser(USER.username);
      const url = authorizeUrl(local, base);
      const { action, fields } = parseForm(await (await fetch(url)).text(), url);
      const res = await fetch(action, formPost({ ...fields, username: USER.email, password: USER.password }));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("User is disabled.");
    } finally {
      await local.close();
    }
  });

  it("signs in by email in any case, or by username, and redirects with a code and the state", async () => {
    for (const login of [USER.email.toLowerCase(), USER.email.toUpperCase(), USER.username]) {
      const { code, location } = await signIn(emu, "publicclient", {}, login);
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
      expect(location.searchParams.get("state")).toBe("st4te");
      expect(code).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("a login POST whose hidden fields were tampered with is refused like the authorize request", async () => {
    const url = authorizeUrl(emu, base);
    const { action, fields } = parseForm(await (await fetch(url)).text(), url);
    const res = await fetch(action, formPost({ ...fields, redirect_uri: "http://evil.test/", username: USER.email, password: USER.password }));
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
  });

  it("escapes request values in the form (no HTML injection through state)", async () => {
    const url = authorizeUrl(emu, { ...base, state: '"><script>alert(1)</script>' });
    const html = await (await fetch(url)).text();
    expect(html).not.toContain("<script>");
    expect(parseForm(html, url).fields.state).toBe('"><script>alert(1)</script>');
  });
});

describe("GET /logout", () => {
  it("redirects only to a logout_uri registered for the client", async () => {
    const ok = await fetch(`${emu.url}/logout?client_id=secretclient&logout_uri=${encodeURIComponent("http://app.test/")}`, { redirect: "manual" });
    expect([ok.status, ok.headers.get("location")]).toEqual([302, "http://app.test/"]);
    for (const query of [
      `client_id=secretclient&logout_uri=${encodeURIComponent("http://evil.test/")}`,
      `client_id=publicclient&logout_uri=${encodeURIComponent("http://app.test/")}`,
      `client_id=nope&logout_uri=${encodeURIComponent("http://app.test/")}`,
      "client_id=secretclient",
    ]) {
      const res = await fetch(`${emu.url}/logout?${query}`, { redirect: "manual" });
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
    }
  });

  it("with redirect_uri and response_type, signs out and goes on to /oauth2/authorize", async () => {
    const res = await fetch(`${emu.url}/logout?client_id=publicclient&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT)}`, { redirect: "manual" });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(location.pathname).toBe("/oauth2/authorize");
    expect(location.searchParams.get("redirect_uri")).toBe(REDIRECT);
  });
});
