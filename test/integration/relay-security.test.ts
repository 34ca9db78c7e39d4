/**
 * Issue 13 (security round 2), the relay's items, through real HTTP: the
 * emulator, the BFF and an upstream server started here. Requests a browser
 * would not send (dot segments fetch would normalize, a forged Host, forwarding
 * headers) go over a raw socket.
 */
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { computeSecurityHeaders } from "../../src/http/security-headers.js";
import { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, signIn, startHarness, type Harness } from "../helpers/harness.js";
import { drain, startUpstream, type Upstream, type UpstreamHandler } from "../helpers/upstream.js";

let h: Harness | undefined;
const upstreams: Upstream[] = [];

afterEach(async () => {
  await h?.close();
  h = undefined;
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function upstream(handler?: UpstreamHandler): Promise<Upstream> {
  const u = await startUpstream(handler);
  upstreams.push(u);
  return u;
}

async function start(routes: Record<string, unknown>, env: Record<string, string> = {}): Promise<Harness> {
  h = await startHarness({ env: { UPSTREAMS: JSON.stringify(routes), ...env } });
  return h;
}

const api = (jar: CookieJar, path: string, init: RequestInit = {}) => callToken(jar, h!.bff.url, path, init);

/** An answer read off a raw socket: status, header lines (lower-case names, in order) and body. */
interface RawAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/**
 * Sends `GET <path>` byte for byte over a raw socket (no URL normalization, any
 * Host and headers) with `X-CSRF: 1`, and reads the whole answer.
 */
function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${headers.Host ?? `${hostname}:${port}`}`, "X-CSRF: 1", "Connection: close"];
  for (const [name, value] of Object.entries(headers)) if (name !== "Host") lines.push(`${name}: ${value}`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      const [statusLine = "", ...headerLines] = text.slice(0, split).split("\r\n");
      resolve({
        status: Number(statusLine.split(" ")[1]),
        headers: headerLines.map((line) => {
          const colon = line.indexOf(":");
          return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
        }),
        body: text.slice(split + 4),
      });
    });
    // write, not end: a half-closed socket reads as a client that left, and the relay aborts.
    socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  });
}

const valuesOf = (answer: RawAnswer, name: string) => answer.headers.filter(([n]) => n === name).map(([, v]) => v);
/** Every Vary token of an answer, in lower case. */
const varyTokens = (vary: string | null) => (vary ?? "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);

/** An upstream that answers with `headers` (after reading the request). */
const answering = (headers: Record<string, string | string[]>): UpstreamHandler => async (req, res, seen) => {
  await drain(req, seen);
  res.writeHead(200, { "content-type": "application/json", ...headers });
  res.end("{}");
};

// Issue 13 item 2: an upstream's `Cache-Control: public, max-age=600` passed through unchanged on answers
// the session cookie authorized, sometimes with the re-issued session cookie: a shared cache could keep
// one user's answer (and session) and serve it to the next.
describe("caching of relayed answers", () => {
  it("an answer a session authorized is private: public and s-maxage dropped, Vary gets Cookie next to the upstream's, CDN-Cache-Control goes", async () => {
    const orders = await upstream(
      answering({ "cache-control": 'public, max-age=600, s-maxage=900, private="x-a, x-b", must-revalidate', vary: "Accept-Encoding", "cdn-cache-control": "max-age=600", "surrogate-control": "max-age=600" }),
    );
    await start({ orders: { url: orders.url, token: "user" } });
    const jar = await signIn(h!.bff.url);
    const res = await api(jar, "/api/orders/x");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private, max-age=600, must-revalidate");
    expect(varyTokens(res.headers.get("vary"))).toEqual(expect.arrayContaining(["origin", "accept-encoding", "cookie"]));
    expect(res.headers.get("cdn-cache-control")).toBeNull();
    expect(res.headers.get("surrogate-control")).toBeNull();
  });

  it("a session-authorized answer without Cache-Control gets private (a shared cache may otherwise keep a 200 heuristically)", async () => {
    const orders = await upstream();
    await start({ orders: { url: orders.url, token: "user-or-none" } });
    const res = await api(await signIn(h!.bff.url), "/api/orders/x");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("private");
    expect(varyTokens(res.headers.get("vary"))).toContain("cookie");
  });

  it("an answer that carries the re-issued session cookie is no-store", async () => {
    const orders = await upstream(answering({ "cache-control": "public, max-age=600" }));
    await start({ orders: { url: orders.url, token: "user" } });
    const jar = await signIn(h!.bff.url);
    h!.emu.clock.advance(3600);
    const res = await api(jar, "/api/orders/x");
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().some((line) => line.startsWith("authjs.session-token"))).toBe(true);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("an anonymous answer keeps the upstream's caching but varies by Cookie; one with the upstream's own cookie is private; a client upstream's is private on the public port", async () => {
    const pub = await upstream(answering({ "cache-control": "public, max-age=600" }));
    const cookies = await upstream(answering({ "cache-control": "public, max-age=600", "set-cookie": "ab=1; Path=/" }));
    const reports = await upstream(answering({ "cache-control": "public, max-age=600" }));
    h = await startHarness({
      client: { clientCredentialsScopes: ["reports/read"] },
      env: {
        UPSTREAMS: JSON.stringify({
          pub: { url: pub.url, token: "user-or-none" },
          cookies: { url: cookies.url, token: "user-or-none", passSetCookie: true },
          reports: { url: reports.url, token: "client", scopes: ["reports/read"] },
        }),
      },
    });
    const anonymous = await api(new CookieJar(), "/api/pub/x");
    expect(anonymous.headers.get("cache-control")).toBe("public, max-age=600");
    expect(varyTokens(anonymous.headers.get("vary"))).toContain("cookie");
    const withCookie = await api(new CookieJar(), "/api/cookies/x");
    expect(withCookie.headers.getSetCookie()).toEqual(["ab=1; Path=/"]);
    expect(withCookie.headers.get("cache-control")).toBe("private, max-age=600");
    // A client upstream serves signed-in sessions only on the public port: its answer is theirs, not a shared cache's.
    const service = await api(await signIn(h!.bff.url), "/api/reports/x");
    expect(service.status).toBe(200);
    expect(service.headers.get("cache-control")).toBe("private, max-age=600");
    expect(varyTokens(service.headers.get("vary"))).toContain("cookie");
  });
});

// Issue 13 item 4: `/api/up/x/..;/admin` and `/api/up/%252e%252e/admin` reached the upstream unchanged;
// Tomcat, Spring and Jetty read `..;` as `..`, and a server that decodes twice reads `%252e` as `.`.
describe("dot segments behind ; parameters or double encoding", () => {
  it("are 400 invalid_request and never reach the upstream", async () => {
    const up = await upstream();
    await start({ up: { url: `${up.url}/base`, token: "user-or-none" } });
    const paths = [
      "/api/up/x/..;/admin",
      "/api/up/x/..;jsessionid=1/admin",
      "/api/up/x/.;/admin",
      "/api/up/x/..%3b/admin",
      "/api/up/x/..%3B",
      "/api/up/%252e%252e/admin",
      "/api/up/%252E%252e/admin",
      "/api/up/x%252f..%252fadmin",
      "/api/up/%25%32%65%25%32%65/admin",
      "/api/up/%2E%2E/admin",
      "/api/up/%2e%2E/admin",
      "/api/up/.%2e/admin",
      "/api/up/%2e./admin",
      "/api/up/%2e",
      "/api/up/x/%252e%252e;x/admin",
    ];
    for (const path of paths) {
      const res = await rawGet(h!.bff.url, path);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body), path).toEqual({ error: "invalid_request", error_description: expect.any(String) });
    }
    expect(up.seen).toHaveLength(0);
  });

  it("paths that only look like them still pass, as the client encoded them", async () => {
    const up = await upstream();
    await start({ up: { url: `${up.url}/base`, token: "user-or-none" } });
    for (const path of ["/api/up/a..b/c", "/api/up/.well-known/x", "/api/up/file%2Ejson", "/api/up/x;v=1/y", "/api/up/...;/z", "/api/up/%2525/a%20b"]) {
      const res = await rawGet(h!.bff.url, path);
      expect(res.status, path).toBe(200);
      expect(JSON.parse(res.body).url, path).toBe(`/base${path.slice("/api/up".length)}`);
    }
  });
});

// Issue 13 item 5: X-Real-IP, X-Original-URL, X-Rewrite-URL, Forwarded and X-Forwarded-Port from the client
// reached the upstream, and a raw request with `Host: attacker.example` arrived as
// `X-Forwarded-Host: attacker.example` even with TRUST_PROXY off.
describe("forwarding headers", () => {
  const spoofed = {
    Host: "attacker.example",
    "X-Real-IP": "6.6.6.6",
    "X-Original-URL": "/admin",
    "X-Rewrite-URL": "/admin",
    Forwarded: "for=6.6.6.6;host=attacker.example;proto=https",
    "X-Forwarded-Port": "8443",
    "X-Forwarded-Prefix": "/admin",
    "X-Forwarded-Server": "attacker.example",
    "X-Forwarded-Host": "attacker.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "6.6.6.6, 10.0.0.1",
    "True-Client-IP": "6.6.6.6",
    "X-Client-IP": "6.6.6.6",
  };
  const dropped = ["x-real-ip", "x-original-url", "x-rewrite-url", "forwarded", "x-forwarded-port", "x-forwarded-prefix", "x-forwarded-server", "true-client-ip", "x-client-ip"];

  it("with TRUST_PROXY off, the client's are dropped: X-Forwarded-Host/-Proto come from PUBLIC_URL, X-Forwarded-For is the socket's address", async () => {
    const up = await upstream();
    await start({ up: { url: up.url, token: "user-or-none" } });
    const res = await rawGet(h!.bff.url, "/api/up/x", spoofed);
    expect(res.status).toBe(200);
    const seen = up.seen[0]!.headers;
    for (const name of dropped) expect(seen[name], name).toBeUndefined();
    expect(seen["x-forwarded-host"]).toBe(new URL(h!.bff.url).host);
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen.host).toBe(new URL(up.url).host);
  });

  it("with TRUST_PROXY on, X-Forwarded-For is the trusted chain plus the socket's address, and Host/-Proto still come from PUBLIC_URL", async () => {
    const up = await upstream();
    await start({ up: { url: up.url, token: "user-or-none" } }, { TRUST_PROXY: "1", PUBLIC_URL: "https://bff.example.com" });
    const res = await rawGet(h!.bff.url, "/api/up/x", { ...spoofed, "X-Forwarded-Proto": "http" });
    expect(res.status).toBe(200);
    const seen = up.seen[0]!.headers;
    for (const name of dropped) expect(seen[name], name).toBeUndefined();
    // One trusted hop (the socket, 127.0.0.1): the address it reports is the client; 6.6.6.6 is not trusted.
    expect(seen["x-forwarded-for"]).toBe("10.0.0.1, 127.0.0.1");
    expect(seen["x-forwarded-host"]).toBe("bff.example.com");
    expect(seen["x-forwarded-proto"]).toBe("https");
  });
});

// Issue 13 item 6: an upstream's `X-Frame-Options: ALLOWALL` and `Cross-Origin-Resource-Policy: cross-origin`
// replaced the BFF's own, and its `Clear-Site-Data` reached the browser.
describe("the upstream's answer headers", () => {
  it("cannot override the BFF's security headers, clear site data, answer CORS or pass hop-by-hop fields", async () => {
    const up = await upstream(
      answering({
        "x-frame-options": "ALLOWALL",
        "cross-origin-resource-policy": "cross-origin",
        "cross-origin-opener-policy": "unsafe-none",
        "referrer-policy": "unsafe-url",
        "x-content-type-options": "none",
        "strict-transport-security": "max-age=31536000",
        "x-permitted-cross-domain-policies": "all",
        "clear-site-data": '"cookies", "storage"',
        "access-control-allow-origin": "https://evil.example",
        "access-control-allow-credentials": "true",
        "keep-alive": "timeout=99",
        "proxy-authenticate": "Basic",
        trailer: "x-t",
        connection: "x-hop",
        "x-hop": "1",
        "x-kept": "yes",
      }),
    );
    await start({ up: { url: up.url, token: "user-or-none" } });
    const res = await rawGet(h!.bff.url, "/api/up/x");
    expect(res.status).toBe(200);
    // The harness's PUBLIC_URL is http: no HSTS, from the BFF or the upstream.
    const own = computeSecurityHeaders({ https: false });
    for (const [name, value] of own) expect(valuesOf(res, name), name).toEqual([value]);
    for (const name of ["strict-transport-security", "clear-site-data", "access-control-allow-origin", "access-control-allow-credentials", "keep-alive", "proxy-authenticate", "trailer", "x-hop"]) {
      expect(valuesOf(res, name), name).toEqual([]);
    }
    expect(valuesOf(res, "x-kept")).toEqual(["yes"]);
  });
});

// Issue 13 item 8: with passSetCookie, `Set-Cookie: =authjs.session-token=forged` reached the browser,
// which stores a nameless cookie and sends it back as `authjs.session-token=forged`.
describe("the upstream's Set-Cookie with passSetCookie", () => {
  it("never passes a nameless cookie or one named like the BFF's, whatever the case or prefix", async () => {
    const up = await upstream(
      answering({
        "set-cookie": [
          "=authjs.session-token=forged",
          "authjs.session-token",
          " =x",
          "AUTHJS.session-token=forged",
          "__SECURE-authjs.session-token=forged; Secure",
          "__host-authjs.csrf-token=forged; Secure; Path=/",
          "authjs.session-token.0=forged",
          "__Secure-authjs.session-token.1=forged; Secure",
          "Authjs.Callback-Url=https%3A%2F%2Fevil.example",
          "authjs.pkce.code_verifier=x",
          "authjs.state=x",
          "authjs.nonce=x",
          "ab=1; Path=/",
          "theme=dark",
        ],
      }),
    );
    await start({ up: { url: up.url, token: "user", passSetCookie: true } });
    const res = await api(await signIn(h!.bff.url), "/api/up/x");
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual(["ab=1; Path=/", "theme=dark"]);
  });
});
