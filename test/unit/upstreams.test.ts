import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clientCredentialsRequest, processClientCredentialsResponse } from "../../src/cognito/client-credentials.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { BffError } from "../../src/errors.js";
import { privateCacheControl, varyWithCookie } from "../../src/proxy/cache-control.js";
import { downstreamResponseHeaders, isPassableSetCookie, stripOwnCookies, upstreamRequestHeaders } from "../../src/proxy/headers.js";
import { parseUpstreams } from "../../src/proxy/upstreams.js";
import { hasDotSegment, upstreamPath } from "../../src/routes/proxy.js";

const base = {
  AUTH_SECRET: "s".repeat(40),
  COGNITO_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
  COGNITO_CLIENT_ID: "abc123client",
};

function problemsOf(value: string): string[] {
  const problems: string[] = [];
  parseUpstreams(value, problems);
  return problems;
}

function configProblems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("UPSTREAMS: failures, each named by its place and never echoing a value", () => {
  it("names the upstream and field of every problem", () => {
    const problems = problemsOf(
      JSON.stringify({
        orders: { url: "ftp://orders.internal/secret-path", token: "user" },
        reports: { url: "https://reports.internal", token: "client" },
        slow: { url: "https://slow.internal", token: "bearer", timeoutMs: 1.5, methods: [], rewrite: { from: "(", to: "x" } },
        Bad_Name: { url: "https://x.internal", token: "user" },
        extra: { url: "https://x.internal", token: "user", scopes: ["a/b"], colour: "red" },
      }),
    );
    expect(problems).toEqual([
      "UPSTREAMS.orders.url: must be an http(s) URL",
      "UPSTREAMS.reports.scopes: is required and must not be empty for token client",
      "UPSTREAMS.slow.token: must be user, client or user-or-none",
      "UPSTREAMS.slow.timeoutMs: must be a whole number of milliseconds",
      "UPSTREAMS.slow.methods: must list at least one method (leave it out to allow all)",
      "UPSTREAMS.slow.rewrite.from: must be a valid regular expression",
      "UPSTREAMS.Bad_Name: an upstream name must be 1-63 lower-case letters, digits or -, starting with a letter or digit",
      "UPSTREAMS.extra: unknown key(s) colour",
      "UPSTREAMS.extra.scopes: applies only to token client (user tokens carry their own scopes)",
    ]);
    expect(problems.join("\n")).not.toContain("secret-path");
  });

  it("rejects invalid JSON, a non-object, an unreadable file and an unknown file type", () => {
    expect(problemsOf("{not json")).toEqual(["UPSTREAMS: is not valid JSON"]);
    expect(problemsOf("/etc/upstreams.txt")).toEqual(["UPSTREAMS: must be inline JSON starting with { or a path to a .json, .yaml or .yml file"]);
    expect(problemsOf("/nonexistent/upstreams.yaml")).toEqual(["UPSTREAMS: cannot read the file it names (ENOENT)"]);
    const dir = mkdtempSync(join(tmpdir(), "upstreams-"));
    writeFileSync(join(dir, "list.yaml"), "- orders\n");
    expect(problemsOf(join(dir, "list.yaml"))[0]).toMatch(/^UPSTREAMS: must be an object keyed by upstream name/);
    writeFileSync(join(dir, "bad.yml"), "orders: [unclosed\n");
    expect(problemsOf(join(dir, "bad.yml"))).toEqual(["UPSTREAMS: the file it names is not valid YAML"]);
  });

  it("a client upstream without COGNITO_CLIENT_SECRET and COGNITO_DOMAIN stops start-up naming both", () => {
    const UPSTREAMS = JSON.stringify({ reports: { url: "https://reports.internal", token: "client", scopes: ["reports/read"] } });
    expect(configProblems({ UPSTREAMS })).toEqual([
      "COGNITO_CLIENT_SECRET, COGNITO_DOMAIN: both are required when an upstream in UPSTREAMS uses token client (client credentials)",
    ]);
    expect(configProblems({ UPSTREAMS: '{"a":{"url":"x","token":"user"}}' })).toEqual(["UPSTREAMS.a.url: must be an http(s) URL"]);
  });
});

describe("UPSTREAMS: parsing", () => {
  it("inline JSON gets the defaults; methods are upper-cased, the base path loses its trailing slash", () => {
    const config = loadConfig({
      ...base,
      COGNITO_CLIENT_SECRET: "secret",
      COGNITO_DOMAIN: "https://auth.example.com",
      UPSTREAMS: JSON.stringify({
        orders: { url: "https://orders.internal/base/", token: "user", methods: ["get", "POST"] },
        reports: { url: "http://reports:8080", token: "client", scopes: ["reports/read", "reports/read"], timeoutMs: 5000, passSetCookie: true },
      }),
    });
    expect(config.upstreams.orders).toMatchObject({ name: "orders", basePath: "/base", token: "user", scopes: [], timeoutMs: 30_000, methods: ["GET", "POST"], rewrite: undefined, passSetCookie: false });
    expect(config.upstreams.reports).toMatchObject({ basePath: "", token: "client", scopes: ["reports/read"], timeoutMs: 5000, methods: undefined, passSetCookie: true });
    expect(config.upstreams.reports!.url.origin).toBe("http://reports:8080");
    expect(loadConfig(base).upstreams).toEqual({});
  });

  it("reads a YAML or JSON file", () => {
    const dir = mkdtempSync(join(tmpdir(), "upstreams-"));
    writeFileSync(join(dir, "u.yaml"), 'orders:\n  url: https://orders.internal\n  token: user-or-none\n  rewrite: { from: "^/v1", to: "" }\n');
    writeFileSync(join(dir, "u.json"), '{"sample": {"url": "http://127.0.0.1:9999", "token": "user"}}');
    const problems: string[] = [];
    const fromYaml = parseUpstreams(join(dir, "u.yaml"), problems);
    expect(fromYaml.orders!.token).toBe("user-or-none");
    expect("/v1/items".replace(fromYaml.orders!.rewrite!.from, fromYaml.orders!.rewrite!.to)).toBe("/items");
    expect(parseUpstreams(join(dir, "u.json"), problems).sample!.url.href).toBe("http://127.0.0.1:9999/");
    expect(problems).toEqual([]);
  });
});

describe("relay paths", () => {
  const upstream = parseUpstreams(JSON.stringify({ a: { url: "https://a.internal/base", token: "user", rewrite: { from: "^/old", to: "new" } } }), []).a!;

  it("dot segments, plain or encoded, are refused", () => {
    for (const p of ["/..", "/a/../b", "/%2e%2E/x", "/a/.%2e", "/a%2f..%2fb", "/a\\..\\b", "/."]) expect(hasDotSegment(p), p).toBe(true);
    for (const p of ["/a/b", "/a..b/c", "/.well-known/x", "/...", ""]) expect(hasDotSegment(p), p).toBe(false);
    // Issue 13 item 4: behind `;` parameters or encoded twice.
    for (const p of ["/x/..;/a", "/x/.;v=1", "/..%3b/a", "/%252e%252e/a", "/%25%32%65%25%32%65", "/x%252f..", "/%2e./a", "/%252525252e."]) expect(hasDotSegment(p), p).toBe(true);
    for (const p of ["/x;v=1/y", "/...;/z", "/%2525/a%20b", "/a%2e%2eb", "/.%2e%2e"]) expect(hasDotSegment(p), p).toBe(false);
    expect(() => upstreamPath(upstream, "/a/../../admin", "")).toThrow(BffError);
  });

  it("joins the base path, the rewritten path and the query", () => {
    expect(upstreamPath(upstream, "/old/x", "?q=1")).toBe("/base/new/x?q=1");
    expect(upstreamPath(upstream, "", "")).toBe("/base");
    const root = parseUpstreams('{"r":{"url":"https://r.internal/","token":"user"}}', []).r!;
    expect(upstreamPath(root, "", "?x")).toBe("/?x");
    expect(upstreamPath(root, "/p%2Fq", "")).toBe("/p%2Fq");
  });
});

describe("relay headers", () => {
  it("strips the BFF's own cookies only, byte for byte for the rest", () => {
    expect(stripOwnCookies("authjs.session-token=abc; theme=a%20b; __Secure-authjs.session-token.0=x; __Host-authjs.csrf-token=y; b=2")).toBe("theme=a%20b; b=2");
    expect(stripOwnCookies("authjs.session-token=abc")).toBeUndefined();
  });

  it("drops hop-by-hop, Connection-listed, CSRF, client Authorization and forwarding headers; rebuilds X-Forwarded-*", () => {
    const headers = upstreamRequestHeaders(
      {
        connection: "keep-alive, x-hop",
        "x-hop": "1",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        te: "trailers",
        host: "bff.example.com",
        authorization: "Bearer from-client",
        "x-csrf": "1",
        forwarded: "for=6.6.6.6",
        "x-forwarded-for": "6.6.6.6",
        "x-forwarded-port": "8443",
        "x-real-ip": "6.6.6.6",
        "x-original-url": "/admin",
        "x-rewrite-url": "/admin",
        cookie: "authjs.session-token=abc; a=1",
        accept: "application/json",
      },
      { bearer: "tok", forwardCookies: true, requestId: "r1", forwarded: { trustedChain: ["10.0.0.1"], peerAddress: "10.0.0.2", proto: "https", host: "bff.example.com" } },
    );
    expect(headers).toEqual({
      accept: "application/json",
      cookie: "a=1",
      authorization: "Bearer tok",
      "x-forwarded-for": "10.0.0.1, 10.0.0.2",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "bff.example.com",
      "x-request-id": "r1",
    });
    const serviceCall = upstreamRequestHeaders({ cookie: "a=1" }, { bearer: undefined, forwardCookies: false, requestId: undefined, forwarded: { trustedChain: [], peerAddress: undefined, proto: "http", host: undefined } });
    expect(serviceCall).toEqual({ "x-forwarded-proto": "http" });
  });

  it("answers without hop-by-hop, CORS, request-id or Set-Cookie headers unless passSetCookie, and never a BFF cookie", () => {
    const upstream = {
      "content-type": "text/plain",
      connection: "close, x-internal",
      "x-internal": "1",
      "transfer-encoding": "chunked",
      "access-control-allow-origin": "*",
      "x-request-id": "upstream-id",
      "set-cookie": ["u=1", "authjs.session-token=forged", "__Secure-authjs.session-token=forged"],
    };
    expect(downstreamResponseHeaders(upstream, false)).toEqual({ "content-type": "text/plain" });
    // The upstream's own cookie makes the answer private (issue 13 item 2).
    expect(downstreamResponseHeaders(upstream, true)).toEqual({ "content-type": "text/plain", "set-cookie": ["u=1"], "cache-control": "private" });
  });

  // Issue 13 items 2 and 8.
  it("a user's answer is private and varies by Cookie; one with the BFF's re-issued cookie is no-store", () => {
    const upstream = { "cache-control": "public, s-maxage=60, max-age=600", vary: "Accept", "cdn-cache-control": "max-age=60", "cloudflare-cdn-cache-control": "max-age=60" };
    expect(downstreamResponseHeaders(upstream, false, { audience: "user", sessionCookieSet: false })).toEqual({ "cache-control": "private, max-age=600", vary: "Accept, Cookie" });
    expect(downstreamResponseHeaders(upstream, false, { audience: "user", sessionCookieSet: true })).toEqual({ "cache-control": "no-store", vary: "Accept, Cookie" });
    expect(downstreamResponseHeaders({ vary: "*" }, false, { audience: "cookie", sessionCookieSet: false })).toEqual({ vary: "*" });
    expect(privateCacheControl(undefined)).toBe("private");
    expect(privateCacheControl(['no-cache="Set-Cookie, X-A"', "PUBLIC", "no-store"])).toBe('private, no-cache="Set-Cookie, X-A", no-store');
    expect(varyWithCookie("accept, COOKIE")).toBe("accept, COOKIE");
  });

  it("a Set-Cookie passes only with a name that is not the BFF's", () => {
    for (const line of ["=authjs.session-token=x", "authjs.session-token", "=x", " = x", "AUTHJS.x=1", "__SECURE-authjs.session-token.0=x", "__Host-__Secure-authjs.csrf-token=x", "a; b=c"]) {
      expect(isPassableSetCookie(line), line).toBe(false);
    }
    for (const line of ["a=1", "x-authjs.session-token=1", "__Secure-theme=dark; Secure", "a=; Max-Age=0"]) expect(isPassableSetCookie(line), line).toBe(true);
  });
});

describe("client-credentials request and response", () => {
  it("authenticates with Basic (form-encoded) or in the body, and asks for the scopes", () => {
    const basic = clientCredentialsRequest({ clientId: "id+1", clientSecret: "s:é", authMethod: "client_secret_basic" }, ["a/read", "a/write"]);
    expect(Object.fromEntries(new URLSearchParams(basic.body))).toEqual({ grant_type: "client_credentials", scope: "a/read a/write" });
    expect(Buffer.from(basic.headers.authorization!.slice(6), "base64").toString()).toBe("id%2B1:s%3A%C3%A9");
    const post = clientCredentialsRequest({ clientId: "id", clientSecret: "sec", authMethod: "client_secret_post" }, ["a/read"]);
    expect(post.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(new URLSearchParams(post.body))).toEqual({ grant_type: "client_credentials", scope: "a/read", client_id: "id", client_secret: "sec" });
  });

  it("refusals are internal_error, other failures and malformed answers temporarily_unavailable", () => {
    const codeOf = (status: number, body: unknown) => {
      try {
        processClientCredentialsResponse(status, body);
      } catch (error) {
        return (error as BffError).code;
      }
      return "ok";
    };
    expect(codeOf(400, { error: "invalid_scope" })).toBe("internal_error");
    expect(codeOf(401, { error: "invalid_client" })).toBe("internal_error");
    expect(codeOf(500, {})).toBe("temporarily_unavailable");
    expect(codeOf(429, {})).toBe("temporarily_unavailable");
    expect(codeOf(200, { access_token: "t", expires_in: 3600 })).toBe("temporarily_unavailable");
    expect(codeOf(200, { access_token: "", expires_in: 3600, token_type: "Bearer" })).toBe("temporarily_unavailable");
    expect(codeOf(200, { access_token: "t", expires_in: 0, token_type: "Bearer" })).toBe("temporarily_unavailable");
    expect(processClientCredentialsResponse(200, { access_token: "t", expires_in: 3600, token_type: "Bearer" })).toEqual({ accessToken: "t", expiresInSeconds: 3600 });
  });
});
