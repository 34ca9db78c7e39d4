import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../helpers/harness.js";

const SPA = "http://localhost:5173";
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { ALLOWED_ORIGINS: SPA } });
});
afterAll(async () => {
  await h?.close();
});

const get = (path: string, origin: string) => fetch(`${h.bff.url}${path}`, { headers: { Origin: origin }, redirect: "manual" });

describe("CORS on the Auth.js reads an SPA needs", () => {
  it("an origin that is not allowed gets no CORS headers on /auth/csrf and /auth/session", async () => {
    for (const path of ["/auth/csrf", "/auth/session"]) {
      const res = await get(path, "http://localhost:6666");
      expect(res.headers.get("access-control-allow-origin"), path).toBeNull();
      expect(res.headers.get("access-control-allow-credentials"), path).toBeNull();
    }
  });

  it("an allowed SPA origin may read /auth/csrf and /auth/session with credentials", async () => {
    for (const path of ["/auth/csrf", "/auth/session"]) {
      const res = await get(path, SPA);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("access-control-allow-origin"), path).toBe(SPA);
      expect(res.headers.get("access-control-allow-credentials"), path).toBe("true");
    }
    expect(((await (await get("/auth/csrf", SPA)).json()) as { csrfToken?: unknown }).csrfToken).toMatch(/^[0-9a-f]{64}$/);
  });

  it("other Auth.js routes stay without CORS, even for an allowed origin", async () => {
    for (const path of ["/auth/providers", "/auth/signin"]) {
      expect((await get(path, SPA)).headers.get("access-control-allow-origin"), path).toBeNull();
    }
  });
});
