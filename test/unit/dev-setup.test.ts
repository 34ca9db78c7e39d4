/**
 * `npm run dev`'s environment, banner and dev page (issue 18: each said or did
 * something other than the README).
 */
import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { buildDevEnv, devBanner, withSampleUpstream, type DevBannerInfo } from "../../src/dev/dev-setup.js";
import { devPage } from "../../src/routes/dev-page.js";

const secret = () => "generated-dev-secret-0123456789abcdef";

describe("buildDevEnv", () => {
  it("with nothing set: PUBLIC_URL from PORT, a generated AUTH_SECRET, and the demo's origin as the one allowed origin", () => {
    const { env, demoOrigin } = buildDevEnv({}, secret);
    expect(env).toMatchObject({ PUBLIC_URL: "http://localhost:3000", AUTH_SECRET: secret(), ALLOWED_ORIGINS: "http://localhost:5173" });
    expect(demoOrigin).toBe("http://localhost:5173");
  });

  it("DEMO_PORT moves the demo's origin, and that is the origin allowed", () => {
    const { env, demoOrigin, demoPort } = buildDevEnv({ DEMO_PORT: "5999", PORT: "3100" }, secret);
    expect([demoOrigin, demoPort]).toEqual(["http://localhost:5999", 5999]);
    expect(env).toMatchObject({ ALLOWED_ORIGINS: "http://localhost:5999", PUBLIC_URL: "http://localhost:3100" });
  });

  // Issue 18: the README says the demo's origin is added "unless you set those yourself"; it was added anyway.
  it("leaves an ALLOWED_ORIGINS the developer set exactly as it is", () => {
    const { env } = buildDevEnv({ ALLOWED_ORIGINS: "https://app.example.com" }, secret);
    expect(env.ALLOWED_ORIGINS).toBe("https://app.example.com");
  });

  it("treats a blank ALLOWED_ORIGINS as unset, as the configuration does", () => {
    expect(buildDevEnv({ ALLOWED_ORIGINS: " " }, secret).env.ALLOWED_ORIGINS).toBe("http://localhost:5173");
  });

  it("keeps the developer's PUBLIC_URL and AUTH_SECRET, and never changes the source object", () => {
    const source = { PUBLIC_URL: "http://127.0.0.1:3000", AUTH_SECRET: "mine-".repeat(8) };
    const { env } = buildDevEnv(source, secret);
    expect(env).toMatchObject(source);
    expect(source).toEqual({ PUBLIC_URL: "http://127.0.0.1:3000", AUTH_SECRET: "mine-".repeat(8) });
  });

  it("refuses NODE_ENV=production and a DEMO_PORT that is not a port", () => {
    expect(() => buildDevEnv({ NODE_ENV: "production" }, secret)).toThrow("npm run dev is for development; use npm start in production");
    expect(() => buildDevEnv({ DEMO_PORT: "web" }, secret)).toThrow("DEMO_PORT: must be a whole number from 1 to 65535");
  });
});

describe("withSampleUpstream", () => {
  it("routes /api/sample/ to the sample API when UPSTREAMS is unset", () => {
    const { env, sampleRelayed } = withSampleUpstream({}, "http://127.0.0.1:4100");
    expect(sampleRelayed).toBe(true);
    expect(JSON.parse(env.UPSTREAMS!)).toEqual({ sample: { url: "http://127.0.0.1:4100", token: "user" } });
  });

  it("leaves the developer's UPSTREAMS alone and says the relay is not there", () => {
    const mine = JSON.stringify({ orders: { url: "http://127.0.0.1:9000", token: "user" } });
    expect(withSampleUpstream({ UPSTREAMS: mine }, "http://127.0.0.1:4100")).toEqual({ env: { UPSTREAMS: mine }, sampleRelayed: false });
  });
});

describe("devBanner", () => {
  const info: DevBannerInfo = {
    bffOrigin: "http://localhost:3000",
    demoOrigin: "http://localhost:5173",
    sampleApiUrl: "http://127.0.0.1:4100",
    sampleRelayed: true,
    allowedOrigins: ["http://localhost:5173"],
  };

  it("names the /api/sample/ relay when it is there", () => {
    expect(devBanner(info)).toContain("  Sample API:       http://127.0.0.1:4100  (also relayed as http://localhost:3000/api/sample/)");
  });

  // Issue 18: the banner printed the relay even when the developer's UPSTREAMS had replaced it (a 404).
  it("does not print the relay when the developer's UPSTREAMS replaced it, and says so", () => {
    const banner = devBanner({ ...info, sampleRelayed: false });
    expect(banner).not.toContain("/api/sample/");
    expect(banner).toContain("  Sample API:       http://127.0.0.1:4100  (called directly only: your UPSTREAMS has no relay to it)");
  });

  it("warns when the developer's ALLOWED_ORIGINS leaves the demo's origin out", () => {
    expect(devBanner(info)).not.toContain("ALLOWED_ORIGINS");
    expect(devBanner({ ...info, allowedOrigins: ["https://app.example.com"] })).toContain(
      "  Note:             ALLOWED_ORIGINS does not list http://localhost:5173, so the BFF refuses the demo's calls (403 origin_not_allowed)",
    );
  });

  it("adds the emulator and the demo user when the emulator runs", () => {
    const banner = devBanner({ ...info, emulator: { url: "http://localhost:4000", poolId: "us-east-1_Dev", email: "demo@example.com", password: "pw", accessTokenTtlSeconds: 300 } });
    expect(banner).toContain("  Cognito emulator: http://localhost:4000 (pool us-east-1_Dev)");
    expect(banner).toContain("  Demo user:        demo@example.com / pw");
  });
});

describe("the dev page", () => {
  const page = async (options?: Parameters<typeof devPage>[0]) => {
    const app = express();
    app.get("/", devPage(options));
    const res = await request(app).get("/");
    expect(res.status).toBe(200);
    return res.text;
  };

  // Issue 18: the demo link was fixed to localhost:5173 whatever DEMO_PORT said.
  it("links to the demo where npm run dev started it", async () => {
    const html = await page({ demoUrl: "http://localhost:5999/" });
    expect(html).toContain('<a href="http://localhost:5999/">http://localhost:5999/</a>');
    expect(html).not.toContain("5173");
  });

  it("without a demo URL it links to no demo at all", async () => {
    const html = await page();
    expect(html).not.toContain("5173");
    expect(html).toContain("printed by <code>npm run dev</code>");
  });

  it("escapes the demo URL", async () => {
    expect(await page({ demoUrl: 'http://localhost:1/"><script>' })).toContain("http://localhost:1/&quot;&gt;&lt;script&gt;");
  });
});
