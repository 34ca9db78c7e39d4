/**
 * Hostile input at the edges, request by request (the fuzz test covers the
 * combinations): oversized headers and bodies, odd methods and query strings.
 * Each gets its documented 4xx and the server keeps serving.
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, signIn, startHarness, type Harness } from "../helpers/harness.js";

let h: Harness;
let jar: CookieJar;
beforeAll(async () => {
  h = await startHarness();
  jar = await signIn(h.bff.url);
});
afterAll(async () => {
  await h?.close();
});

interface Raw {
  status: number;
  body: string;
}

/** A request on its own connection, with nothing normalised by a client library. */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  const url = new URL(h.bff.url);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      answered = true;
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, body: text }));
    });
    // The server may answer before it has read a large body and close; the answer is what counts.
    req.on("error", (error) => (answered ? undefined : reject(error)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const errorOf = (r: Raw) => (JSON.parse(r.body) as { error: string }).error;

async function stillServing(): Promise<void> {
  expect((await fetch(`${h.bff.url}/healthz`)).status).toBe(200);
  expect((await callToken(jar, h.bff.url)).status).toBe(200);
}

describe("oversized requests", () => {
  it("headers or a query string over Node's 16 KiB limit get 431 before any route runs; the server keeps serving", async () => {
    const cookie = jar.header();
    expect((await raw("GET", "/token", { cookie, "x-csrf": "1", "x-padding": "a".repeat(20_000) })).status).toBe(431);
    expect((await raw("GET", `/token?${"min_ttl=1&".repeat(2000)}`, { cookie, "x-csrf": "1" })).status).toBe(431);
    expect((await raw("GET", "/token", { cookie: `${cookie}; junk=${"b".repeat(17_000)}`, "x-csrf": "1" })).status).toBe(431);
    await stillServing();
  });

  it("a body over 100 KB on an Auth.js endpoint is 413 payload_too_large", async () => {
    for (const [path, type, body] of [
      ["/auth/signin/cognito", "application/x-www-form-urlencoded", `csrfToken=${"x".repeat(150_000)}`],
      ["/auth/signout", "application/json", JSON.stringify({ csrfToken: "x".repeat(150_000) })],
    ] as const) {
      const res = await raw("POST", path, { "content-type": type, cookie: jar.header() }, body);
      expect([res.status, errorOf(res)], path).toEqual([413, "payload_too_large"]);
    }
    await stillServing();
  });

  it("POST /token/refresh takes no body: one (even 2 MB) is never parsed, and the answer is the usual one", async () => {
    const res = await raw("POST", "/token/refresh", { cookie: jar.header(), "x-csrf": "1", "content-type": "application/json" }, `{"a":"${"x".repeat(2_000_000)}"}`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ token_type: "Bearer" });
    await stillServing();
  });
});

describe("methods, actions and query strings", () => {
  it("methods Auth.js cannot take (TRACE, PROPFIND, PUT...) are 405 with Allow, not a 500 (regression: TRACE made WebCrypto's Request throw)", async () => {
    for (const method of ["TRACE", "PROPFIND", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      for (const path of ["/auth/session", "/auth/signin/cognito", "/auth/csrf"]) {
        const res = await raw(method, path, { cookie: jar.header() });
        expect([res.status, errorOf(res)], `${method} ${path}`).toEqual([405, "method_not_allowed"]);
      }
    }
    // POST /auth/session (Auth.js's session update, unused here) answered a bare `null` with 400.
    const update = await raw("POST", "/auth/session", { cookie: jar.header(), "content-type": "application/json" }, "{}");
    expect([update.status, errorOf(update)]).toEqual([405, "method_not_allowed"]);
    for (const method of ["TRACE", "PUT", "DELETE", "PATCH"]) {
      const res = await raw(method, "/token", { cookie: jar.header(), "x-csrf": "1" });
      expect([res.status, errorOf(res)], method).toEqual([405, "method_not_allowed"]);
    }
  });

  it("unknown Auth.js actions are a JSON 404 instead of Auth.js's bare \"Bad request.\"", async () => {
    for (const path of ["/auth/nope", "/auth/%ZZ", "/auth/callback/other", "/auth/signin/other", "/auth/verify-request", "/auth/webauthn-options"]) {
      const res = await raw("GET", path, {});
      expect([res.status, errorOf(res)], path).toEqual([404, "not_found"]);
    }
  });

  it("min_ttl: negative, exponent, fraction, hex, huge, repeated or empty is 400; a different name such as min_ttl[] is ignored", async () => {
    for (const query of ["min_ttl=-1", "min_ttl=1e99", "min_ttl=1.5", "min_ttl=0x10", "min_ttl=99999999999999999999", "min_ttl=86401", "min_ttl=1&min_ttl=2", "min_ttl=", "min_ttl=%00", "min_ttl=%ZZ", "min_ttl=%201"]) {
      const res = await raw("GET", `/token?${query}`, { cookie: jar.header(), "x-csrf": "1" });
      expect([res.status, errorOf(res)], query).toEqual([400, "invalid_request"]);
      expect(res.body).not.toContain("access_token");
    }
    for (const query of ["min_ttl[]=1", "min_ttl[a]=1", "%ZZ=1", "min_ttl=0", "min_ttl=86400"]) {
      expect((await raw("GET", `/token?${query}`, { cookie: jar.header(), "x-csrf": "1" })).status, query).toBe(200);
    }
  });
});
