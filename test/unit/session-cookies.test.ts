import { describe, expect, it } from "vitest";
import { CHUNK_SIZE, parseCookieHeader, readSessionCookie, writeSessionCookies } from "../../src/auth/session-cookies.js";

const NAME = "authjs.session-token";
const attributes = { secure: false, maxAgeSeconds: 3600, now: () => Date.UTC(2030, 0, 1) };

/** name=value of each Set-Cookie, as the browser would keep them (expired ones dropped). */
function jar(setCookies: string[]): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const line of setCookies) {
    const [pair] = line.split(";");
    const [name, value] = pair!.split("=") as [string, string];
    if (/Max-Age=0/i.test(line)) delete kept[name];
    else kept[name] = value;
  }
  return kept;
}

describe("session cookies", () => {
  it("writes one cookie when the value fits, with HttpOnly, SameSite=Lax and Path=/", () => {
    const headers = writeSessionCookies(NAME, "abc", [], attributes);
    expect(headers).toHaveLength(1);
    expect(headers[0]).toMatch(/^authjs\.session-token=abc; Path=\/; Expires=.*; HttpOnly; SameSite=Lax$/);
  });

  it("chunks a large value like Auth.js and reads it back", () => {
    const value = "x".repeat(CHUNK_SIZE * 2 + 10);
    const headers = writeSessionCookies(NAME, value, [], attributes);
    expect(Object.keys(jar(headers))).toEqual([`${NAME}.0`, `${NAME}.1`, `${NAME}.2`]);
    expect(readSessionCookie(jar(headers), NAME).value).toBe(value);
  });

  it("expires chunks that a shorter session no longer uses", () => {
    const headers = writeSessionCookies(NAME, "short", [`${NAME}.0`, `${NAME}.1`, `${NAME}.2`], attributes);
    const expired = headers.filter((h) => /Max-Age=0/.test(h)).map((h) => h.split("=")[0]);
    expect(expired).toEqual([`${NAME}.0`, `${NAME}.1`, `${NAME}.2`]);
    expect(jar(headers)).toEqual({ [NAME]: "short" });
  });

  it("sets Secure when asked", () => {
    expect(writeSessionCookies(NAME, "v", [], { ...attributes, secure: true })[0]).toContain("; Secure");
  });

  it("rejects gaps, duplicates-by-number and odd suffixes instead of splicing chunks", () => {
    expect(readSessionCookie({ [`${NAME}.0`]: "a", [`${NAME}.2`]: "c" }, NAME).value).toBeUndefined();
    expect(readSessionCookie({ [`${NAME}.0`]: "a", [`${NAME}.01`]: "b" }, NAME).value).toBeUndefined();
    expect(readSessionCookie({ [`${NAME}.0`]: "a", [`${NAME}.x`]: "b" }, NAME).value).toBeUndefined();
    expect(readSessionCookie({ [`${NAME}.0`]: "a", [`${NAME}.1`]: "" }, NAME).value).toBeUndefined();
    expect(readSessionCookie({ [`${NAME}.1`]: "b", [`${NAME}.0`]: "a" }, NAME).value).toBe("ab");
  });

  it("reports every session cookie name present, for clearing", () => {
    const read = readSessionCookie({ [NAME]: "a", [`${NAME}.0`]: "b", other: "c" }, NAME);
    expect(read.names.sort()).toEqual([NAME, `${NAME}.0`]);
  });

  it("parses a hostile Cookie header without throwing", () => {
    expect(parseCookieHeader("a=%E0%A4%A; =; ;;b")).toBeTypeOf("object");
    expect(parseCookieHeader(undefined)).toEqual({});
  });
});
