/**
 * The fast lane (src/http/fast-lane.ts) answers `/token*` and `/api/*` in
 * front of Express's router. Every answer must be the one the router gave:
 * odd request targets, methods, preflights, headers, log lines and metrics are
 * compared with what the router answered before the fast lane existed
 * (fast-lane-answers.json, recorded with the cases of fast-lane-cases.ts), and
 * with a BFF built with the fast lane off.
 */
import { connect } from "node:net";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BffApp } from "../../src/app.js";
import { createBff, type Bff as EmbeddedBff } from "../../src/embed.js";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { callToken, CLIENT_ID, CLIENT_SECRET, serverEnv, signIn, startHarness, USER, type Harness } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";
import pinned from "./fast-lane-answers.json" with { type: "json" };
import { CASES, observe, type Observed } from "./fast-lane-cases.js";

const SPA = "https://spa.example";
let up: Upstream;
let fast: Harness;
let routerOnly: Harness;
let fastCookie: string;
let routerCookie: string;

const env = (upstreamUrl: string) => ({
  ALLOWED_ORIGINS: SPA,
  UPSTREAMS: JSON.stringify({ up: { url: upstreamUrl, token: "user" }, getonly: { url: upstreamUrl, token: "user", methods: ["GET"] } }),
});

beforeAll(async () => {
  up = await startUpstream();
  fast = await startHarness({ env: env(up.url) });
  routerOnly = await startHarness({ env: env(up.url), fastLane: false });
  fastCookie = (await signIn(fast.bff.url)).header();
  routerCookie = (await signIn(routerOnly.bff.url)).header();
}, 30_000);

afterAll(async () => {
  await fast?.close();
  await routerOnly?.close();
  await up?.close();
});

/** Counts the requests that reach the app's Express router. */
function countRouted(bff: BffApp): { count: number } {
  const counter = { count: 0 };
  const router = (bff.app as unknown as { router: { handle: (...args: unknown[]) => unknown } }).router;
  const handle = router.handle.bind(router);
  router.handle = (...args: unknown[]) => {
    counter.count++;
    return handle(...args);
  };
  return counter;
}

describe("the fast lane answers as Express's router did", () => {
  it("the recorded answers cover every case", () => {
    expect(Object.keys(pinned).sort()).toEqual(CASES.map((c) => c.name).sort());
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s: the same status, headers, body, log line, metric and upstream call as before the fast lane", async (_name, c) => {
    const seen = await observe(fast, up, c, fastCookie);
    expect(seen).toEqual((pinned as Record<string, Observed>)[c.name]);
  });

  it.each(CASES.map((c) => [c.name, c] as const))("%s: the router alone (fast lane off) still answers as before", async (_name, c) => {
    const seen = await observe(routerOnly, up, c, routerCookie);
    expect(seen).toEqual((pinned as Record<string, Observed>)[c.name]);
  });
});

describe("what the fast lane takes", () => {
  it("GET /token (any case, a trailing slash), POST /token/refresh, a 405, a preflight and a relayed call never reach the router; other paths do", async () => {
    const routed = countRouted(fast.bff.bff);
    const headers = { cookie: fastCookie, "x-csrf": "1" };
    expect((await fetch(`${fast.bff.url}/token`, { headers })).status).toBe(200);
    expect((await fetch(`${fast.bff.url}/TOKEN/`, { headers })).status).toBe(200);
    expect((await fetch(`${fast.bff.url}/token?min_ttl=60`, { headers })).status).toBe(200);
    expect((await fetch(`${fast.bff.url}/token/refresh`, { method: "POST", headers })).status).toBe(200);
    expect((await fetch(`${fast.bff.url}/token`, { method: "PUT", headers })).status).toBe(405);
    const preflight = await fetch(`${fast.bff.url}/token`, { method: "OPTIONS", headers: { origin: SPA, "access-control-request-method": "GET" } });
    expect(preflight.status).toBe(204);
    expect((await fetch(`${fast.bff.url}/api/up/items?a=1`, { headers })).status).toBe(200);
    expect(routed.count).toBe(0);

    expect((await fetch(`${fast.bff.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${fast.bff.url}/auth/session`)).status).toBe(200);
    expect(routed.count).toBe(2);
  });

  it("a /token target the router reads another way (a fragment, absolute-form) is left to the router", async () => {
    const routed = countRouted(fast.bff.bff);
    const raw = (target: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(fast.bff.url).port), "127.0.0.1", () => {
          socket.end(`GET ${target} HTTP/1.1\r\nHost: bff\r\nCookie: ${fastCookie}\r\nX-CSRF: 1\r\nConnection: close\r\n\r\n`);
        });
        let data = "";
        socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")));
        socket.on("end", () => resolve(data.slice(0, data.indexOf("\r\n"))));
        socket.on("error", reject);
      });
    expect(await raw("/token#x")).toBe("HTTP/1.1 200 OK");
    expect(await raw("http://bff.example/token")).toBe("HTTP/1.1 200 OK");
    expect(routed.count).toBe(2);
  });

  it("a WebSocket upgrade on /api is left to the router's WebSocket route (refused there without an Origin)", async () => {
    const routed = countRouted(fast.bff.bff);
    const status = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(fast.bff.url).port), "127.0.0.1", () => {
        socket.write(
          `GET /api/up/ws HTTP/1.1\r\nHost: bff\r\nCookie: ${fastCookie}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
      });
      let data = "";
      socket.on("data", (chunk: Buffer) => (data += chunk.toString("latin1")));
      socket.on("close", () => resolve(data.slice(0, data.indexOf("\r\n"))));
      socket.on("error", reject);
    });
    expect(status).toBe("HTTP/1.1 403 Forbidden");
    expect(routed.count).toBe(1);
  });
});

describe("mounted in a host app (createBff().handler)", () => {
  let emu: Emulator;
  let embedded: EmbeddedBff;
  let server: Server;
  let url: string;
  let upstream: Upstream;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    emu = await startEmulator({ users: [{ ...USER, emailVerified: true }] });
    upstream = await startUpstream();
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [`${url}/`] });
    const hostLog = pino({ base: { app: "host" } }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    // The BFF trusts one proxy hop; the host trusts none: the relay must follow the BFF's setting, as it did.
    embedded = await createBff({ ...serverEnv(emu, url), TRUST_PROXY: "1", UPSTREAMS: JSON.stringify({ up: { url: upstream.url, token: "user" } }) }, { logger: hostLog });
    const host = express();
    host.get("/hello", (_req, res) => void res.json({ hello: "from the host" }));
    host.use(embedded.handler);
    server.on("request", host);
  }, 30_000);

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await embedded?.close();
    await upstream?.close();
    await emu?.close();
  });

  it("serves /token and the relay through the fast lane, with one log line each and the BFF's TRUST_PROXY for X-Forwarded-For", async () => {
    const jar = await signIn(url);
    const routed = countRouted({ app: embedded.handler } as BffApp);
    expect((await callToken(jar, url)).status).toBe(200);
    const relayed = await callToken(jar, url, "/api/up/items", { headers: { "X-Forwarded-For": "203.0.113.7" } });
    expect(relayed.status).toBe(200);
    expect(routed.count).toBe(0);
    expect(upstream.seen.at(-1)?.headers["x-forwarded-for"]).toBe("203.0.113.7, 127.0.0.1");
    const requestLines = lines.filter((line) => line.msg === "request" && line.app === "host" && line.service === "cognito-bff");
    expect(requestLines.slice(-2).map((line) => [line.path, line.status])).toEqual([
      ["/token", 200],
      ["/api/up/items", 200],
    ]);
    // The host's own route, before the BFF, still answers; an error is still the BFF's JSON.
    expect(await (await fetch(`${url}/hello`)).json()).toEqual({ hello: "from the host" });
    const refused = await fetch(`${url}/token`, { headers: { cookie: jar.header() } });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: "csrf_required" });
  });
});
