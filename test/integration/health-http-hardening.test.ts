/**
 * HTTP hardening through a real server: security headers (helmet's, set from a
 * precomputed list), request ids, TRUST_PROXY, and /docs served from the
 * swagger-ui-dist package under a same-origin CSP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { createCognitoGateway } from "../../src/cognito/cognito-gateway.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { DOCS_CSP } from "../../src/routes/docs.js";
import { callToken, CLIENT_ID, signIn, TEST_SECRET, startHarness, type Harness } from "../helpers/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

describe("security headers", () => {
  it("are on every answer (JSON, errors, Auth.js), without HSTS over http and without a CSP on JSON", async () => {
    for (const path of ["/healthz", "/token", "/auth/csrf", "/nowhere"]) {
      const response = await fetch(`${h.bff.url}${path}`);
      expect(response.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(response.headers.get("x-frame-options"), path).toBe("SAMEORIGIN");
      expect(response.headers.get("referrer-policy"), path).toBe("no-referrer");
      expect(response.headers.get("cross-origin-opener-policy"), path).toBe("same-origin");
      expect(response.headers.get("strict-transport-security"), path).toBeNull();
      expect(response.headers.get("x-powered-by"), path).toBeNull();
    }
    expect((await fetch(`${h.bff.url}/healthz`)).headers.get("content-security-policy")).toBeNull();
  });

  it("include HSTS when PUBLIC_URL is https", async () => {
    const config = loadConfig({
      NODE_ENV: "test",
      PUBLIC_URL: "https://bff.example.com",
      AUTH_SECRET: TEST_SECRET,
      COGNITO_ISSUER: h.emu.issuer,
      COGNITO_CLIENT_ID: CLIENT_ID,
    });
    const cognito = createCognitoGateway(config.cognito);
    const bff = await createApp({ config, cognito, log: createLogger({ level: "silent" }) });
    const { default: request } = await import("supertest");
    const response = await request(bff.app).get("/healthz");
    cognito.destroy();
    await bff.close();
    expect(response.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
  });
});

describe("request ids", () => {
  it("a well-formed X-Request-Id is returned and logged; a malformed one is replaced by a generated id", async () => {
    const given = await fetch(`${h.bff.url}/healthz`, { headers: { "X-Request-Id": "trace-abc.123:x" } });
    expect(given.headers.get("x-request-id")).toBe("trace-abc.123:x");
    const hostile = await fetch(`${h.bff.url}/healthz`, { headers: { "X-Request-Id": "a b<script>" } });
    const generated = hostile.headers.get("x-request-id")!;
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 20));
    const lines = h.bff.logs.map((l) => JSON.parse(l) as { reqId?: string; path?: string });
    expect(lines.some((l) => l.reqId === "trace-abc.123:x" && l.path === "/healthz")).toBe(true);
    expect(lines.some((l) => l.reqId === generated)).toBe(true);
    expect(h.bff.logs.join("\n")).not.toContain("<script>");
  });

  it("the request log of a signed-in call holds no token and no cookie value", async () => {
    const jar = await signIn(h.bff.url);
    const response = await callToken(jar, h.bff.url);
    const { access_token } = (await response.json()) as { access_token: string };
    await new Promise((r) => setTimeout(r, 20));
    const log = h.bff.logs.join("\n");
    expect(log).not.toContain(access_token);
    for (const value of jar.cookies.values()) expect(log).not.toContain(value);
  });
});

describe("TRUST_PROXY", () => {
  async function appWith(trustProxy: string | undefined) {
    const config = loadConfig({
      NODE_ENV: "test",
      AUTH_SECRET: TEST_SECRET,
      COGNITO_ISSUER: h.emu.issuer,
      COGNITO_CLIENT_ID: CLIENT_ID,
      ...(trustProxy === undefined ? {} : { TRUST_PROXY: trustProxy }),
    });
    const cognito = createCognitoGateway(config.cognito);
    const bff = await createApp({ config, cognito, log: createLogger({ level: "silent" }) });
    cognito.destroy();
    await bff.close();
    return bff.app.get("trust proxy fn") as (address: string, hop: number) => boolean;
  }

  it("is applied to Express: off by default, a hop count, or a list of subnets", async () => {
    const off = await appWith(undefined);
    expect(off("127.0.0.1", 0)).toBe(false);
    const oneHop = await appWith("1");
    expect(oneHop("10.0.0.1", 0)).toBe(true);
    expect(oneHop("10.0.0.2", 1)).toBe(false);
    const subnets = await appWith("loopback, 10.0.0.0/8");
    expect(subnets("10.1.2.3", 0)).toBe(true);
    expect(subnets("192.168.1.1", 0)).toBe(false);
  });
});

describe("GET /docs", () => {
  it("serves Swagger UI from this service, under a CSP that allows same-origin scripts only", async () => {
    const page = await fetch(`${h.bff.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toBe(DOCS_CSP);
    expect(DOCS_CSP).toContain("script-src 'self'");
    const html = await page.text();
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(source.startsWith("/docs/"), source).toBe(true);
      const asset = await fetch(`${h.bff.url}${source}`);
      expect(asset.status, source).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, source).toBeGreaterThan(100);
    }
    const initializer = await (await fetch(`${h.bff.url}/docs/swagger-initializer.js`)).text();
    expect(initializer).toContain('url: "/openapi.yaml"');
    expect(initializer).toContain("validatorUrl: null");
    // Only the assets the page uses: the package's own demo page is not served.
    expect((await fetch(`${h.bff.url}/docs/index.html`)).status).toBe(404);
  });
});
