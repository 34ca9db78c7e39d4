/**
 * An anonymous call to a `user-or-none` upstream carries no token of the BFF's, so whatever credentials or
 * routing claims the caller puts in its own headers must not ride along to the upstream. Sent over a raw socket
 * (fetch refuses to send most of these), through the real BFF, to a real upstream that records what reached it.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1 (hop-by-hop fields)
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

let h: Harness;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  h = await startHarness({ env: { UPSTREAMS: JSON.stringify({ open: { url: `${upstream.url}/base`, token: "user-or-none" } }) } });
});

afterAll(async () => {
  await h?.close();
  await upstream?.close();
});

/** Sends the request head byte for byte and returns the final status (after any 100 Continue). */
function send(head: string[]): Promise<number> {
  const { hostname, port } = new URL(h.bff.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
      // Skip interim answers (100 Continue); resolve on the first final status line.
      for (const match of text.matchAll(/HTTP\/1\.1 (\d{3})/g)) {
        if (!match[1]!.startsWith("1")) {
          resolve(Number(match[1]));
          socket.destroy();
          return;
        }
      }
    });
    socket.on("error", reject);
    socket.write(`${head.join("\r\n")}\r\n\r\n`);
  });
}

/** Credentials, hop-by-hop fields and routing claims a hostile or confused client might send. */
const HOSTILE: Record<string, string> = {
  Authorization: "Bearer the-callers-own-token",
  "Proxy-Authorization": "Basic cHJveHk6c2VjcmV0",
  Expect: "100-continue",
  // Without "Upgrade" in Connection: with it, this is an upgrade request, which only a WebSocket's may be.
  Upgrade: "h2c",
  "HTTP2-Settings": "AAMAAABkAARAAAAAAAIAAAAA",
  Connection: "keep-alive, X-Hop-Secret",
  "X-Hop-Secret": "listed-in-connection",
  "Keep-Alive": "timeout=5",
  TE: "trailers",
  Trailer: "X-Checksum",
  "Proxy-Connection": "keep-alive",
  "X-CSRF": "1",
  Forwarded: "for=203.0.113.9;host=evil.example;proto=https",
  "X-Forwarded-For": "203.0.113.9",
  "X-Forwarded-Host": "evil.example",
  "X-Forwarded-Proto": "https",
  "X-Forwarded-Prefix": "/admin",
  "X-Real-IP": "203.0.113.9",
  "X-Original-URL": "/admin/delete-all",
  "X-Rewrite-URL": "/admin/delete-all",
  "True-Client-IP": "203.0.113.9",
  Cookie: "authjs.session-token=forged; __Secure-authjs.callback-url=x; theme=dark",
};

describe("an anonymous user-or-none call with hostile headers", () => {
  it("reaches the upstream without the caller's credentials, hop-by-hop fields or forwarding claims", async () => {
    const before = upstream.seen.length;
    const { host } = new URL(h.bff.url);
    const status = await send(["GET /api/open/items?x=1 HTTP/1.1", `Host: ${host}`, ...Object.entries(HOSTILE).map(([n, v]) => `${n}: ${v}`)]);
    expect(status).toBe(200);
    const seen = upstream.seen[before]!;
    expect(seen.url).toBe("/base/items?x=1");
    const leaked = Object.keys(seen.headers).filter((name) => {
      const sent = Object.entries(HOSTILE).find(([n]) => n.toLowerCase() === name)?.[1];
      return sent !== undefined && seen.headers[name] === sent;
    });
    expect(leaked).toEqual([]);
    for (const name of ["authorization", "proxy-authorization", "expect", "upgrade", "http2-settings", "x-hop-secret", "keep-alive", "te", "trailer", "proxy-connection", "x-csrf", "forwarded", "x-forwarded-prefix", "x-real-ip", "x-original-url", "x-rewrite-url", "true-client-ip"]) {
      expect(seen.headers, name).not.toHaveProperty(name);
    }
    // What the BFF itself says instead: its own view of the caller, the host and the scheme of PUBLIC_URL.
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen.headers["x-forwarded-host"]).toBe(host);
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    expect(seen.headers.cookie).toBe("theme=dark");
  });

  it("each credential header alone is dropped too (no header depends on another to be removed)", async () => {
    const { host } = new URL(h.bff.url);
    for (const [name, value] of [["Authorization", "Bearer alone"], ["Proxy-Authorization", "Basic YWxvbmU="], ["Expect", "100-continue"], ["Upgrade", "h2c"]] as const) {
      const before = upstream.seen.length;
      expect(await send(["GET /api/open/one HTTP/1.1", `Host: ${host}`, "X-CSRF: 1", `${name}: ${value}`])).toBe(200);
      expect(upstream.seen[before]!.headers, name).not.toHaveProperty(name.toLowerCase());
    }
  });
});
