/**
 * The relay's header rules, one header per row, in both directions: what a client sends that must not reach an
 * upstream (credentials, hop-by-hop fields, forwarding claims), and what an upstream answers that must not reach
 * the browser (the BFF's cookies and security headers, CORS, hop-by-hop fields). Every end-to-end header passes
 * unchanged.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1 (Connection and hop-by-hop fields)
 */
import { describe, expect, it } from "vitest";
import { computeSecurityHeaders } from "../../src/http/security-headers.js";
import { downstreamResponseHeaders, isPassableSetCookie, stripOwnCookies, upstreamRequestHeaders, type ForwardedFor } from "../../src/proxy/headers.js";
import { setActiveInjector } from "../../src/tracing.js";

const NOBODY: ForwardedFor = { trustedChain: [], peerAddress: undefined, proto: "https", host: undefined };
/** An anonymous `user-or-none` call: no bearer of the BFF's, cookies forwarded. */
const anonymous: Parameters<typeof upstreamRequestHeaders>[1] = { bearer: undefined, forwardCookies: true, requestId: undefined, forwarded: NOBODY };
const relayed = (incoming: Record<string, string | string[]>, options = anonymous) => upstreamRequestHeaders(incoming, options);

const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "http2-settings"];
const CLIENT_CLAIMS = [
  "host",
  "authorization",
  "x-csrf",
  "x-request-id",
  "expect",
  "forwarded",
  "x-real-ip",
  "x-original-url",
  "x-original-uri",
  "x-original-host",
  "x-rewrite-url",
  "x-host",
  "x-client-ip",
  "client-ip",
  "true-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-cluster-client-ip",
  "x-originating-ip",
  "x-remote-ip",
  "x-remote-addr",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-forwarded-prefix",
  "x-forwarded-server",
];

describe("relay request headers", () => {
  it.each([...HOP_BY_HOP, ...CLIENT_CLAIMS])("a client's %s never reaches the upstream of an anonymous call", (name) => {
    const headers = relayed({ [name]: "from-client", accept: "application/json" });
    expect(headers[name] === "from-client").toBe(false);
    expect(headers.accept).toBe("application/json");
  });

  it("the client's Authorization is replaced by the BFF's bearer, never forwarded beside it", () => {
    expect(relayed({ authorization: "Bearer stolen" }, { ...anonymous, bearer: "user-token" }).authorization).toBe("Bearer user-token");
    expect(relayed({ authorization: "Bearer stolen" })).not.toHaveProperty("authorization");
  });

  it("headers the client lists in Connection are dropped, in any case and spacing, from one or several Connection lines", () => {
    expect(relayed({ connection: "Keep-Alive, X-Secret ,, x-other", "x-secret": "1", "x-other": "2", "x-kept": "3" })).toEqual({ "x-kept": "3", "x-forwarded-proto": "https" });
    expect(relayed({ connection: ["x-a", "X-B"], "x-a": "1", "x-b": "2", "x-kept": "3" })).toEqual({ "x-kept": "3", "x-forwarded-proto": "https" });
  });

  it("the usual Connection values drop what they name too: close drops a field named close, keep-alive none", () => {
    expect(relayed({ connection: "close", close: "x", "x-kept": "1" })).toEqual({ "x-kept": "1", "x-forwarded-proto": "https" });
    expect(relayed({ connection: "keep-alive", close: "x" })).toEqual({ close: "x", "x-forwarded-proto": "https" });
  });

  it("end-to-end headers pass byte for byte, repeated ones as they came", () => {
    const e2e = { accept: "application/json", "content-type": "application/json; charset=utf-8", "if-none-match": 'W/"1"', "x-app": " spaced ", "x-list": ["a", "b"] };
    expect(relayed(e2e)).toEqual({ ...e2e, "x-forwarded-proto": "https" });
  });

  it("only cookies that are not the BFF's reach a user upstream, and none a service upstream", () => {
    expect(relayed({ cookie: "authjs.session-token=s; theme=dark" }).cookie).toBe("theme=dark");
    expect(relayed({ cookie: "authjs.session-token=s; __Host-authjs.csrf-token=c" })).not.toHaveProperty("cookie");
    expect(relayed({ cookie: "theme=dark" }, { ...anonymous, forwardCookies: false })).not.toHaveProperty("cookie");
  });

  it("empty pairs of a Cookie header are left out, the others keep their order", () => {
    expect(stripOwnCookies("a=1;; b=2; ;authjs.session-token=s;")).toBe("a=1; b=2");
  });

  it("with tracing on, the upstream gets the BFF's trace context instead of the client's; off, the client's passes", () => {
    expect(relayed({ traceparent: "00-client-01", tracestate: "c=1" })).toMatchObject({ traceparent: "00-client-01", tracestate: "c=1" });
    setActiveInjector((headers) => {
      headers.traceparent = "00-bff-01";
      return true;
    });
    try {
      const headers = relayed({ traceparent: "00-client-01", tracestate: "c=1" });
      expect(headers.traceparent).toBe("00-bff-01");
      expect(headers).not.toHaveProperty("tracestate");
    } finally {
      // An injector that finds no active span: the client's context passes again.
      setActiveInjector(() => false);
    }
    expect(relayed({ traceparent: "00-client-01" }).traceparent).toBe("00-client-01");
  });

  it("X-Forwarded-For lists the trusted chain then the peer; -Host only from PUBLIC_URL; the request id only when there is one", () => {
    expect(relayed({}, { ...anonymous, forwarded: { ...NOBODY, peerAddress: "10.0.0.2" } })["x-forwarded-for"]).toBe("10.0.0.2");
    expect(relayed({}, { ...anonymous, forwarded: { ...NOBODY, trustedChain: ["1.1.1.1", "10.0.0.1"] } })["x-forwarded-for"]).toBe("1.1.1.1, 10.0.0.1");
    expect(relayed({}, { ...anonymous, forwarded: { ...NOBODY, trustedChain: ["1.1.1.1"], peerAddress: "10.0.0.2" } })["x-forwarded-for"]).toBe("1.1.1.1, 10.0.0.2");
    expect(relayed({})).toEqual({ "x-forwarded-proto": "https" });
    expect(relayed({}, { ...anonymous, requestId: "req-1", forwarded: { ...NOBODY, proto: "http", host: "bff.example" } })).toEqual({
      "x-forwarded-proto": "http",
      "x-forwarded-host": "bff.example",
      "x-request-id": "req-1",
    });
  });
});

describe("relay response headers", () => {
  const security = computeSecurityHeaders({ https: true }).map(([name]) => name);

  it.each([...HOP_BY_HOP, "x-request-id", "set-cookie", "clear-site-data", ...security, "access-control-allow-origin", "access-control-allow-credentials", "Access-Control-Expose-Headers"])(
    "an upstream's %s never reaches the browser",
    (name) => {
      const headers = downstreamResponseHeaders({ [name]: "from-upstream", "content-type": "text/plain" }, false);
      expect(headers).toEqual({ "content-type": "text/plain" });
    },
  );

  it("a Set-Cookie line without a name (no = before the first ;) never passes", () => {
    for (const line of ["theme", "theme; Path=/", "theme; a=b"]) expect(isPassableSetCookie(line), line).toBe(false);
    expect(isPassableSetCookie("theme=dark; Path=/")).toBe(true);
  });

  it("the security headers dropped are helmet's (the list is not empty)", () => {
    expect(security).toEqual(expect.arrayContaining(["x-content-type-options", "strict-transport-security", "x-frame-options"]));
  });

  it("headers the upstream lists in Connection are dropped; names are lower-cased; absent values skipped", () => {
    // undici hands the answer's names over in lower case; the Connection tokens are matched without case.
    expect(downstreamResponseHeaders({ connection: "X-Internal", "X-Internal": "1", "X-App": "2", "x-none": undefined }, false)).toEqual({ "x-app": "2" });
  });

  it("with passSetCookie, the upstream's own cookies pass and make the answer private; the BFF's alone change nothing", () => {
    expect(downstreamResponseHeaders({ "set-cookie": "u=1" }, true)).toEqual({ "set-cookie": ["u=1"], "cache-control": "private" });
    expect(downstreamResponseHeaders({ "set-cookie": ["authjs.session-token=forged"], "cache-control": "public, max-age=60" }, true)).toEqual({
      "cache-control": "public, max-age=60",
    });
  });

  it("an answer for an anonymous call that read the Cookie header varies by Cookie and keeps its caching", () => {
    expect(downstreamResponseHeaders({ "cache-control": "public, max-age=60" }, false, { audience: "cookie", sessionCookieSet: false })).toEqual({
      "cache-control": "public, max-age=60",
      vary: "Cookie",
    });
  });

  it("an answer carrying the BFF's re-issued cookie is no-store whoever it is for, and CDN fields go", () => {
    expect(downstreamResponseHeaders({ "cache-control": "public", "surrogate-control": "max-age=60" }, false, { audience: "cookie", sessionCookieSet: true })).toEqual({
      "cache-control": "no-store",
      vary: "Cookie",
    });
  });

  it("a service's answer keeps its caching and its Vary", () => {
    expect(downstreamResponseHeaders({ "cache-control": "public, max-age=60", vary: "Accept" }, false, { audience: "service", sessionCookieSet: false })).toEqual({
      "cache-control": "public, max-age=60",
      vary: "Accept",
    });
  });
});
