import { decode as authjsDecode } from "@auth/core/jwt";
import { afterEach, describe, expect, it } from "vitest";
import { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, signIn, startHarness, TEST_SECRET, USER, type Harness } from "../helpers/harness.js";

const NEW_SECRET = "the-next-session-secret-0123456789abcdef";
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The sealed session a jar holds, chunks joined in order. */
function sealedFrom(jar: CookieJar): string {
  const names = jar.sessionCookieNames().sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return names.map((n) => jar.cookies.get(n)).join("");
}

/** A jar holding exactly these session cookies. */
function jarWith(cookies: Record<string, string>): CookieJar {
  const jar = new CookieJar();
  for (const [name, value] of Object.entries(cookies)) jar.cookies.set(name, value);
  return jar;
}

describe("the fast path and Auth.js read each other's sessions", () => {
  it("a cookie re-issued by /token is decoded by @auth/core/jwt and read by /auth/session", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 } });
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    const { access_token } = (await (await callToken(jar, h.bff.url)).json()) as { access_token: string };
    const decoded = await authjsDecode({ token: sealedFrom(jar), secret: TEST_SECRET, salt: "authjs.session-token" });
    expect(decoded).toMatchObject({ access_token, email: USER.email });
    const session = (await (await jar.fetch(`${h.bff.url}/auth/session`)).json()) as { user: { email: string } };
    expect(session.user.email).toBe(USER.email);
  });

  it("secret rotation: an old cookie keeps working, and what the BFF writes next is sealed with the new secret", async () => {
    h = await startHarness({ emulator: { accessTokenTtlSeconds: 3600 } });
    const jar = await signIn(h.bff.url);
    const rotated = await h.startBff({ AUTH_SECRET_1: NEW_SECRET });
    expect((await callToken(jar, rotated.url)).status).toBe(200);
    h.emu.clock.advance(3600);
    expect((await callToken(jar, rotated.url)).status).toBe(200);
    const sealed = sealedFrom(jar);
    expect(await authjsDecode({ token: sealed, secret: NEW_SECRET, salt: "authjs.session-token" })).toMatchObject({ email: USER.email });
    await expect(authjsDecode({ token: sealed, secret: TEST_SECRET, salt: "authjs.session-token" })).rejects.toThrow();
    // Auth.js on the rotated replica reads it too.
    expect(((await (await jar.fetch(`${rotated.url}/auth/session`)).json()) as { user: { email: string } }).user.email).toBe(USER.email);
  });
});

describe("hostile session cookies give 401, never 500", () => {
  it("tampered, truncated, missing, duplicated-by-number and mis-numbered chunks", async () => {
    h = await startHarness();
    const jar = await signIn(h.bff.url);
    const names = jar.sessionCookieNames().sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    expect(names.length).toBeGreaterThan(1); // Cognito's three tokens do not fit one cookie
    const chunks = Object.fromEntries(names.map((n) => [n, jar.cookies.get(n)!]));
    const [first, second] = names as [string, string];
    const flip = (s: string) => s.slice(0, 100) + (s[100] === "A" ? "B" : "A") + s.slice(101);
    const variants: Record<string, Record<string, string>> = {
      tampered: { ...chunks, [second]: flip(chunks[second]!) },
      truncated: { ...chunks, [second]: chunks[second]!.slice(0, -20) },
      "missing chunk": { [first]: chunks[first]! },
      "swapped chunks": { [first]: chunks[second]!, [second]: chunks[first]! },
      "gap in numbering": { [first]: chunks[first]!, "authjs.session-token.2": chunks[second]! },
      "odd suffix": { ...chunks, "authjs.session-token.01": "x" },
      "garbage single cookie": { "authjs.session-token": "e30.e30.e30.e30.e30" },
      "huge value": { "authjs.session-token": "A".repeat(12_000) },
    };
    for (const [name, cookies] of Object.entries(variants)) {
      const res = await callToken(jarWith(cookies), h.bff.url);
      expect(res.status, name).toBe(401);
      expect(((await res.json()) as { error: string }).error, name).toBe("unauthenticated");
    }
    // The untouched session still works.
    expect((await callToken(jarWith(chunks), h.bff.url)).status).toBe(200);
  });

  it("a cookie sealed with a secret the BFF does not have is no session", async () => {
    h = await startHarness();
    const jar = await signIn(h.bff.url);
    const other = await h.startBff({ AUTH_SECRET: NEW_SECRET });
    const res = await callToken(jar, other.url);
    expect(res.status).toBe(401);
  });
});
