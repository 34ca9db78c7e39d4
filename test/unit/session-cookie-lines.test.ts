/**
 * What the browser gets from the session cookie writer, judged as the browser judges it: a whole `Set-Cookie`
 * line (name, value and attributes) of at most 4096 bytes, an `Expires` at now + max age, and every chunk
 * readable back. These tests import no constant of the module: they hold whatever the chunk size is.
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-5.6 (4096 bytes per cookie line)
 */
import { describe, expect, it } from "vitest";
import { clearSessionCookies, readSessionCookie, writeSessionCookies } from "../../src/auth/session-cookies.js";

const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const NAME = "__Secure-authjs.session-token";
const attributes = { secure: true, maxAgeSeconds: 30 * 24 * 3600, now: () => NOW };

/** name -> value of the lines a browser keeps (the expired ones delete). */
function browserJar(lines: string[]): Record<string, string> {
  const jar: Record<string, string> = {};
  for (const line of lines) {
    const pair = line.slice(0, line.indexOf(";"));
    const name = pair.slice(0, pair.indexOf("="));
    if (/;\s*Max-Age=0(?:;|$)/i.test(line)) delete jar[name];
    else jar[name] = pair.slice(pair.indexOf("=") + 1);
  }
  return jar;
}

const expiresOf = (line: string) => /;\s*Expires=([^;]+)/i.exec(line)?.[1];

describe("session cookie lines", () => {
  it.each([1, 3000, 3935, 3936, 3937, 4000, 4096, 8000, 12_000, 40_000])("a %i-character session is written in lines of at most 4096 bytes that read back whole", (size) => {
    const value = "e".repeat(size);
    const lines = writeSessionCookies(NAME, value, [], attributes);
    for (const line of lines) expect(Buffer.byteLength(line), line.slice(0, 60)).toBeLessThanOrEqual(4096);
    expect(readSessionCookie(browserJar(lines), NAME).value).toBe(value);
  });

  it("a session that fits in one cookie line is one cookie, not chunks (Auth.js reads it either way, but fewer lines is less to lose)", () => {
    const lines = writeSessionCookies(NAME, "e".repeat(3900), [], attributes);
    expect(lines.map((l) => l.slice(0, l.indexOf("=")))).toEqual([NAME]);
  });

  it("a chunked session uses as few chunks as 4096-byte lines allow", () => {
    // Each line carries about 150 bytes of name and attributes; anything under ~3900 characters per chunk wastes a cookie.
    const lines = writeSessionCookies(NAME, "e".repeat(3 * 3900), [], attributes);
    expect(lines).toHaveLength(3);
  });

  it("Expires is now + the max age, by the injected clock", () => {
    const [line] = writeSessionCookies(NAME, "v", [], attributes);
    expect(expiresOf(line!)).toBe(new Date(NOW + attributes.maxAgeSeconds * 1000).toUTCString());
    const [short] = writeSessionCookies(NAME, "v", [], { ...attributes, maxAgeSeconds: 90 });
    expect(expiresOf(short!)).toBe(new Date(NOW + 90_000).toUTCString());
  });

  it("a session of 11 chunks (.0 to .10) reads back", () => {
    const value = Array.from({ length: 11 }, (_, i) => String.fromCharCode(97 + i).repeat(3900)).join("");
    const lines = writeSessionCookies(NAME, value, [], attributes);
    expect(Object.keys(browserJar(lines))).toContain(`${NAME}.10`);
    expect(readSessionCookie(browserJar(lines), NAME).value).toBe(value);
  });

  it("rewriting a chunked session over its own chunks sets each chunk once and expires only the cookies no longer used", () => {
    const value = "e".repeat(2 * 3900);
    const present = [NAME, `${NAME}.0`, `${NAME}.1`, `${NAME}.2`];
    const lines = writeSessionCookies(NAME, value, present, attributes);
    const names = lines.map((l) => l.slice(0, l.indexOf("=")));
    expect(names).toEqual([`${NAME}.0`, `${NAME}.1`, NAME, `${NAME}.2`]);
    expect(lines.filter((l) => /Max-Age=0/.test(l)).map((l) => l.slice(0, l.indexOf("=")))).toEqual([NAME, `${NAME}.2`]);
    expect(readSessionCookie(browserJar(lines), NAME).value).toBe(value);
  });

  it("clearing writes an empty value that expired in 1970 for each named cookie", () => {
    const lines = clearSessionCookies([NAME, `${NAME}.0`], attributes);
    expect(lines).toEqual([
      `${NAME}=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax`,
      `${NAME}.0=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax`,
    ]);
  });

  it("a chunk that is present without a value is no session (nothing is spliced in its place)", () => {
    expect(readSessionCookie({ [`${NAME}.0`]: "a", [`${NAME}.1`]: undefined }, NAME).value).toBeUndefined();
  });
});
