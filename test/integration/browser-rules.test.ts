import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { signIn, startHarness, type Harness } from "../helpers/harness.js";

const SPA = "http://spa.localhost:5173";
let h: Harness;
beforeEach(async () => {
  h = await startHarness({ env: { ALLOWED_ORIGINS: SPA } });
});
afterEach(async () => {
  await h?.close();
});

describe("browser rules on /token", () => {
  it("without X-CSRF: 1, /token is 403 csrf_required even with a valid session", async () => {
    const jar = await signIn(h.bff.url);
    for (const headers of [{}, { "X-CSRF": "0" }, { "X-CSRF": "true" }] as Record<string, string>[]) {
      const res = await jar.fetch(`${h.bff.url}/token`, { headers });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: "csrf_required" });
    }
  });

  it("an Origin that is not allowed gets 403 origin_not_allowed and no CORS headers", async () => {
    const jar = await signIn(h.bff.url);
    const res = await jar.fetch(`${h.bff.url}/token`, { headers: { "X-CSRF": "1", Origin: "https://evil.example" } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "origin_not_allowed" });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await fetch(`${h.bff.url}/token`, {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-csrf" },
    });
    expect(preflight.status).toBe(403);
  });

  it("an allowed SPA origin gets CORS with credentials, preflight included", async () => {
    const preflight = await fetch(`${h.bff.url}/token`, {
      method: "OPTIONS",
      headers: { Origin: SPA, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-csrf" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");
    expect(preflight.headers.get("access-control-allow-headers")).toMatch(/X-CSRF/i);

    const jar = await signIn(h.bff.url);
    const res = await jar.fetch(`${h.bff.url}/token`, { headers: { "X-CSRF": "1", Origin: SPA } });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA);
    expect(res.headers.get("vary")).toMatch(/Origin/i);
  });

  it("the same origin as the service itself is allowed", async () => {
    const jar = await signIn(h.bff.url);
    const res = await jar.fetch(`${h.bff.url}/token/refresh`, { method: "POST", headers: { "X-CSRF": "1", Origin: h.bff.url } });
    expect(res.status).toBe(200);
  });

  it("unknown paths are JSON 404s", async () => {
    const res = await fetch(`${h.bff.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "not_found" });
  });

  it("/healthz answers 200", async () => {
    const res = await fetch(`${h.bff.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });
});
