import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CookieJar, parseForm } from "../helpers/cookie-jar.js";
import { CLIENT_ID, signIn, startHarness, USER, type Harness } from "../helpers/harness.js";

const SPA = "https://spa.example";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { ALLOWED_ORIGINS: SPA } });
});
afterAll(async () => {
  await h?.close();
});

/** Hostile redirect targets: foreign, protocol-relative, backslash tricks, script URLs, look-alike hosts, userinfo. */
function hostileTargets(): string[] {
  const own = new URL(h.bff.url);
  return [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "\\/evil.example/",
    "https:evil.example",
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    `${h.bff.url}.evil.example/`,
    `http://${own.hostname}:1/`,
    `https://${own.host}@evil.example/`,
    `${SPA}.evil.example/`,
    "http://spa.example/",
    `${h.emu.url}/logout?client_id=${CLIENT_ID}&logout_uri=https%3A%2F%2Fevil.example%2F`,
    `${h.emu.url}/logout?client_id=someone-else&logout_uri=${encodeURIComponent(`${h.bff.url}/`)}`,
  ];
}

/** Where a redirect may go: this service or an allowed SPA origin (same-origin paths resolve against the service). */
function expectSafe(location: string | null, target: string): void {
  expect(location, target).not.toBeNull();
  const resolved = new URL(location!, h.bff.url);
  expect([new URL(h.bff.url).origin, SPA], `${target} -> ${location}`).toContain(resolved.origin);
  expect(location!.toLowerCase(), target).not.toContain("evil.example");
}

/** Signs in with `callbackUrl` and returns where the final callback redirect points. */
async function signInWithCallbackUrl(callbackUrl: string): Promise<string | null> {
  const jar = new CookieJar();
  const { csrfToken } = (await (await jar.fetch(`${h.bff.url}/auth/csrf`)).json()) as { csrfToken: string };
  const start = await jar.fetch(`${h.bff.url}/auth/signin/cognito`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrfToken, callbackUrl }),
  });
  const authorizeUrl = start.headers.get("location")!;
  if (!authorizeUrl.startsWith(h.emu.url)) return authorizeUrl;
  const { action, fields } = parseForm(await (await jar.fetch(authorizeUrl)).text(), authorizeUrl);
  for (const name of Object.keys(fields)) {
    if (/user|email/i.test(name)) fields[name] = USER.email;
    if (/pass/i.test(name)) fields[name] = USER.password;
  }
  const login = await jar.fetch(action, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields) });
  const callback = await jar.fetch(login.headers.get("location")!);
  expect(callback.status).toBe(302);
  return callback.headers.get("location");
}

async function signOutTo(callbackUrl: string): Promise<string | null> {
  const jar = await signIn(h.bff.url);
  const { csrfToken } = (await (await jar.fetch(`${h.bff.url}/auth/csrf`)).json()) as { csrfToken: string };
  const res = await jar.fetch(`${h.bff.url}/auth/signout`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrfToken, callbackUrl }),
  });
  expect(res.status).toBe(302);
  return res.headers.get("location");
}

describe("no open redirects", () => {
  it("after sign-in, callbackUrl only leads to this service or an allowed SPA origin", async () => {
    for (const target of hostileTargets()) expectSafe(await signInWithCallbackUrl(target), target);
    expect(await signInWithCallbackUrl(`${SPA}/app?x=1`)).toBe(`${SPA}/app?x=1`);
    expect(await signInWithCallbackUrl("/dashboard")).toBe(`${h.bff.url}/dashboard`);
  });

  it("after sign-out, the redirect only leads to this service, an allowed SPA origin, or our Hosted UI logout with an allowed logout_uri", async () => {
    for (const target of hostileTargets()) expectSafe(await signOutTo(target), target);
    expect(await signOutTo(`${SPA}/bye`)).toBe(`${SPA}/bye`);
    const hostedLogout = `${h.emu.url}/logout?client_id=${CLIENT_ID}&logout_uri=${encodeURIComponent(`${SPA}/`)}`;
    expect(await signOutTo(hostedLogout)).toBe(hostedLogout);
  });

  // Issue 13, item 10: only the first logout_uri was checked, and other parameters were not looked at.
  it("after sign-out, a Hosted UI logout with a second logout_uri, a second client_id or an added redirect_uri is refused (the redirect stays on this service)", async () => {
    const allowed = `logout_uri=${encodeURIComponent(`${SPA}/`)}`;
    const targets = [
      `${h.emu.url}/logout?client_id=${CLIENT_ID}&${allowed}&logout_uri=${encodeURIComponent("https://evil.example/")}`,
      `${h.emu.url}/logout?client_id=${CLIENT_ID}&${allowed}&redirect_uri=${encodeURIComponent("https://evil.example/cb")}&response_type=code`,
      `${h.emu.url}/logout?client_id=${CLIENT_ID}&client_id=other&${allowed}`,
    ];
    for (const target of targets) {
      const location = await signOutTo(target);
      expectSafe(location, target);
      expect(location, target).toBe(`${h.bff.url}`);
    }
  });

  it("a script or data callbackUrl is 400 invalid_request (Auth.js alone answers it with a 500 page)", async () => {
    for (const target of ["javascript:alert(1)", "data:text/html,x", "vbscript:x"]) {
      for (const path of ["/auth/signin", "/auth/signin/cognito", "/auth/signout"]) {
        const res = await fetch(`${h.bff.url}${path}?callbackUrl=${encodeURIComponent(target)}`, { redirect: "manual" });
        expect([res.status, ((await res.json()) as { error: string }).error], `${path} ${target}`).toEqual([400, "invalid_request"]);
      }
      const cookie = `authjs.callback-url=${encodeURIComponent(target)}`;
      const res = await fetch(`${h.bff.url}/auth/signin`, { headers: { cookie }, redirect: "manual" });
      expect(res.status, `cookie ${target}`).toBe(400);
    }
  });

  it("the callbackUrl of GET /auth/signin is checked the same way", async () => {
    for (const target of ["https://evil.example/", "//evil.example/", "/\\evil.example"]) {
      const res = await fetch(`${h.bff.url}/auth/signin?callbackUrl=${encodeURIComponent(target)}`, { redirect: "manual" });
      expect(res.status, target).toBeLessThan(500);
      const stored = res.headers.getSetCookie().find((c) => c.startsWith("authjs.callback-url="));
      if (stored) expectSafe(decodeURIComponent(stored.split(";")[0]!.split("=")[1]!), target);
      if (res.headers.get("location")) expectSafe(res.headers.get("location"), target);
    }
  });
});
