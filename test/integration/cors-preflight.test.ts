/**
 * CORS through the real app, for what an SPA on an allowed origin sends: `@cognito-bff/client` calls `/token`
 * with `X-CSRF` and `Accept`, and `/api/*` with `X-CSRF` plus the caller's own headers (`Content-Type` for a
 * JSON body, `X-Request-Id` to correlate), in any method. A preflight the browser cannot pass makes the call
 * fail before it is sent, so every method and header is checked here.
 * @see https://fetch.spec.whatwg.org/#cors-preflight-fetch
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

const SPA = "https://spa.example";
let h: Harness;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  h = await startHarness({ env: { ALLOWED_ORIGINS: SPA, UPSTREAMS: JSON.stringify({ orders: { url: upstream.url, token: "user-or-none" } }) } });
});

afterAll(async () => {
  await h?.close();
  await upstream?.close();
});

const list = (value: string | null) => (value ?? "").split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);

const preflight = (path: string, method: string, headers: string, origin = SPA) =>
  fetch(`${h.bff.url}${path}`, {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers },
  });

describe("CORS preflights from an allowed SPA origin", () => {
  it.each(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])("a %s with a JSON body through /api passes its preflight, with credentials, cached for 10 minutes", async (method) => {
    const res = await preflight("/api/orders/items/7", method, "x-csrf,content-type,accept,x-request-id");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(list(res.headers.get("access-control-allow-methods"))).toContain(method.toLowerCase());
    expect(list(res.headers.get("access-control-allow-headers"))).toEqual(expect.arrayContaining(["x-csrf", "content-type", "accept", "x-request-id"]));
    expect(res.headers.get("access-control-max-age")).toBe("600");
    // Nothing reached the upstream: the BFF answers preflights itself.
    expect(upstream.seen.filter((s) => s.method === "OPTIONS")).toEqual([]);
  });

  it.each([
    ["GET", "/token"],
    ["POST", "/token/refresh"],
  ])("the client package's %s %s passes its preflight", async (method, path) => {
    const res = await preflight(path, method, "x-csrf,accept");
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(list(res.headers.get("access-control-allow-methods"))).toContain(method.toLowerCase());
    expect(list(res.headers.get("access-control-allow-headers"))).toEqual(expect.arrayContaining(["x-csrf", "accept"]));
  });

  it("a preflight from an origin that is not allowed is refused, without CORS headers", async () => {
    const res = await preflight("/api/orders/items", "PUT", "x-csrf,content-type", "https://evil.example");
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("cross-origin calls from an allowed SPA origin", () => {
  it("a PUT with a JSON body reaches the upstream, and the SPA may read Retry-After and X-Request-Id of the answer", async () => {
    const before = upstream.seen.length;
    const res = await fetch(`${h.bff.url}/api/orders/items/7`, {
      method: "PUT",
      headers: { Origin: SPA, "X-CSRF": "1", "Content-Type": "application/json" },
      body: JSON.stringify({ quantity: 2 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(list(res.headers.get("access-control-expose-headers"))).toEqual(expect.arrayContaining(["retry-after", "x-request-id"]));
    expect(list(res.headers.get("vary"))).toContain("origin");
    expect(upstream.seen[before]).toMatchObject({ method: "PUT", url: "/items/7", bodyBytes: 14 });
  });

  it("without X-CSRF: 1 the call is refused before the upstream, from an allowed origin too", async () => {
    const before = upstream.seen.length;
    for (const headers of [{ Origin: SPA }, { Origin: SPA, "X-CSRF": "true" }, {}] as Record<string, string>[]) {
      const res = await fetch(`${h.bff.url}/api/orders/items`, { method: "DELETE", headers });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: "csrf_required" });
    }
    expect(upstream.seen.length).toBe(before);
  });

  it("a call from an origin that is not allowed is refused before the upstream", async () => {
    const before = upstream.seen.length;
    const res = await fetch(`${h.bff.url}/api/orders/items`, { headers: { Origin: "https://evil.example", "X-CSRF": "1" } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "origin_not_allowed" });
    expect(upstream.seen.length).toBe(before);
    // The reason is the log's, not the answer's.
    expect(h.bff.logs.find((line) => line.includes('"origin_not_allowed"'))).toContain("origin not in ALLOWED_ORIGINS");
  });

  it("a call from the service's own origin passes, and one without Origin says its answer varies by Origin", async () => {
    const own = await fetch(`${h.bff.url}/api/orders/a`, { headers: { Origin: h.bff.url, "X-CSRF": "1" } });
    expect(own.status).toBe(200);
    const none = await fetch(`${h.bff.url}/api/orders/a`, { headers: { "X-CSRF": "1" } });
    expect(none.status).toBe(200);
    expect(list(none.headers.get("vary"))).toContain("origin");
  });
});
