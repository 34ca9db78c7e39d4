import { afterEach, describe, expect, it } from "vitest";
import { CookieJar, parseForm } from "../helpers/cookie-jar.js";
import { CLIENT_ID, CLIENT_SECRET, signIn, startHarness, USER, type Harness } from "../helpers/harness.js";

const PUBLIC = "https://bff.example.test";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface SetCookie {
  name: string;
  attributes: Map<string, string>;
}

function parseSetCookie(line: string): SetCookie {
  const [pair, ...rest] = line.split(";").map((s) => s.trim());
  const attributes = new Map<string, string>();
  for (const a of rest) {
    const eq = a.indexOf("=");
    attributes.set((eq < 0 ? a : a.slice(0, eq)).toLowerCase(), eq < 0 ? "" : a.slice(eq + 1));
  }
  return { name: pair!.slice(0, pair!.indexOf("=")), attributes };
}

function expectSessionAttributes(cookie: SetCookie, secure: boolean): void {
  const label = cookie.name;
  expect(cookie.attributes.has("httponly"), label).toBe(true);
  expect(cookie.attributes.get("samesite")?.toLowerCase(), label).toBe("lax");
  expect(cookie.attributes.get("path"), label).toBe("/");
  expect(cookie.attributes.has("domain"), label).toBe(false);
  expect(cookie.attributes.has("secure"), label).toBe(secure);
}

/**
 * The browser flow for a BFF whose PUBLIC_URL is https (TLS ends at a proxy):
 * every URL the BFF hands out names PUBLIC_URL; requests go to the real server.
 */
async function signInBehindHttps(realUrl: string): Promise<{ jar: CookieJar; setCookies: string[] }> {
  const jar = new CookieJar();
  const setCookies: string[] = [];
  const local = (url: string) => url.replace(PUBLIC, realUrl);
  const fetchAll = async (url: string, init?: RequestInit) => {
    const res = await jar.fetch(local(url), init);
    setCookies.push(...res.headers.getSetCookie());
    return res;
  };
  const { csrfToken } = (await (await fetchAll(`${PUBLIC}/auth/csrf`)).json()) as { csrfToken: string };
  const start = await fetchAll(`${PUBLIC}/auth/signin/cognito`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrfToken, callbackUrl: `${PUBLIC}/` }),
  });
  const authorizeUrl = start.headers.get("location")!;
  const { action, fields } = parseForm(await (await jar.fetch(authorizeUrl)).text(), authorizeUrl);
  for (const name of Object.keys(fields)) {
    if (/user|email/i.test(name)) fields[name] = USER.email;
    if (/pass/i.test(name)) fields[name] = USER.password;
  }
  const login = await jar.fetch(action, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields) });
  const callback = await fetchAll(login.headers.get("location")!);
  expect(callback.status).toBe(302);
  return { jar, setCookies };
}

describe("cookie attributes", () => {
  it("behind https: __Secure- session cookies (Auth.js's and /token's) and a __Host- CSRF cookie, all HttpOnly, Secure, SameSite=Lax, Path=/", async () => {
    h = await startHarness({ env: { PUBLIC_URL: PUBLIC }, emulator: { accessTokenTtlSeconds: 3600 } });
    h.emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${PUBLIC}/auth/callback/cognito`], logoutUris: [`${PUBLIC}/`] });
    const { jar, setCookies } = await signInBehindHttps(h.bff.url);
    const written = setCookies.map(parseSetCookie);

    const csrf = written.find((c) => c.name.includes("csrf-token"))!;
    expect(csrf.name).toBe("__Host-authjs.csrf-token");
    expectSessionAttributes(csrf, true);

    const authJsSession = written.filter((c) => c.name.includes("session-token") && c.attributes.get("max-age") !== "0");
    expect(authJsSession.length).toBeGreaterThan(0);
    for (const cookie of authJsSession) {
      expect(cookie.name).toMatch(/^__Secure-authjs\.session-token(\.\d+)?$/);
      expectSessionAttributes(cookie, true);
    }
    // Every other Auth.js cookie (callback URL, PKCE, state, nonce) is __Secure- or __Host- too.
    for (const cookie of written) expect(cookie.name, cookie.name).toMatch(/^__(Secure|Host)-/);

    // /token's own writes after a refresh: same names and attributes, with an expiry.
    h.emu.clock.advance(3600);
    const refreshed = await jar.fetch(`${h.bff.url}/token`, { headers: { "x-csrf": "1" } });
    expect(refreshed.status).toBe(200);
    const fromToken = refreshed.headers.getSetCookie().map(parseSetCookie);
    expect(fromToken.length).toBeGreaterThan(0);
    for (const cookie of fromToken) {
      expect(cookie.name).toMatch(/^__Secure-authjs\.session-token(\.\d+)?$/);
      expectSessionAttributes(cookie, true);
      if (cookie.attributes.get("max-age") !== "0") expect(Date.parse(cookie.attributes.get("expires")!)).toBeGreaterThan(h.emu.clock.now());
    }

    // Clearing a session on 401 must carry Secure too, or a browser ignores the deletion of a __Secure- cookie.
    h.emu.deleteUser(USER.username);
    h.emu.clock.advance(3600);
    const ended = await jar.fetch(`${h.bff.url}/token`, { headers: { "x-csrf": "1" } });
    expect(ended.status).toBe(401);
    const cleared = ended.headers.getSetCookie().map(parseSetCookie);
    expect(cleared.length).toBeGreaterThan(0);
    for (const cookie of cleared) {
      expect(cookie.name).toMatch(/^__Secure-authjs\.session-token/);
      expect(cookie.attributes.get("max-age")).toBe("0");
      expectSessionAttributes(cookie, true);
    }
  });

  it("over plain http (development): no prefix and no Secure, still HttpOnly, SameSite=Lax, Path=/", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 } });
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    const refreshed = await jar.fetch(`${h.bff.url}/token`, { headers: { "x-csrf": "1" } });
    const fromToken = refreshed.headers.getSetCookie().map(parseSetCookie);
    expect(fromToken.length).toBeGreaterThan(0);
    for (const cookie of fromToken) {
      expect(cookie.name).toMatch(/^authjs\.session-token(\.\d+)?$/);
      expectSessionAttributes(cookie, false);
    }
    const csrf = (await fetch(`${h.bff.url}/auth/csrf`)).headers.getSetCookie().map(parseSetCookie).find((c) => c.name.includes("csrf"))!;
    expect(csrf.name).toBe("authjs.csrf-token");
    expectSessionAttributes(csrf, false);
  });
});
