/**
 * The servers of a benchmark run, in one process of their own (the load comes
 * from the parent): the Cognito emulator, the BFF built by createApp() against
 * it, and a bare Express route serving a same-sized JSON body; with
 * BENCH_UPSTREAM=1, an upstream and a minimal reverse proxy to it. Prints one
 * JSON line with the URLs and session cookies, then serves until killed.
 *
 *   node --import tsx bench/servers.ts
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { Session } from "node:inspector";
import type { AddressInfo } from "node:net";
import express from "express";
import { Redis } from "ioredis";
import { pino } from "pino";
import { Pool } from "undici";
import { createApp } from "../src/app.js";
import { createCognitoGateway } from "../src/cognito/cognito-gateway.js";
import { loadConfig } from "../src/config.js";
import { startEmulator } from "../src/emulator/index.js";
import { createLogger } from "../src/log.js";
import { createRedisClients } from "../src/redis.js";
import { startTracing } from "../src/tracing.js";
import { callToken, CLIENT_ID, CLIENT_SECRET, signIn, TEST_SECRET, USER } from "../test/helpers/harness.js";

const REFRESH_DELAY_MS = Number(process.env.BENCH_REFRESH_DELAY_MS ?? 20);

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const UPSTREAM_BODY = JSON.stringify({ items: Array.from({ length: 5 }, (_, i) => ({ id: i, name: `item ${i}`, qty: i * 2 })) });

const upstreamHandler: Parameters<typeof createServer>[1] = (_req, res) => {
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(UPSTREAM_BODY));
  res.end(UPSTREAM_BODY);
};

/** Hop-by-hop fields, which a proxy passes on in neither direction (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"]);

/**
 * The relay's baseline: the smallest honest reverse proxy on node:http and an undici Pool (as the BFF uses),
 * adding `Authorization: Bearer <token>` (a fixed token: no session, no refresh, no rules), streaming both bodies.
 */
function minimalProxy(upstreamUrl: string, token: string): Parameters<typeof createServer>[1] {
  const pool = new Pool(upstreamUrl);
  const authorization = `Bearer ${token}`;
  return (req, res) => {
    // The client's headers as they came (a flat name/value list, as undici takes them), minus Host and hop-by-hop ones.
    const raw = req.rawHeaders;
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      if (name !== "host" && name !== "authorization" && !HOP_BY_HOP.has(name)) headers.push(raw[i]!, raw[i + 1]!);
    }
    headers.push("authorization", authorization);
    const body = req.headers["content-length"] || req.headers["transfer-encoding"] ? req : null;
    pool
      .stream({ path: req.url!, method: req.method as "GET", headers, body }, ({ statusCode, headers: answer }) => {
        res.statusCode = statusCode;
        for (const name in answer) if (!HOP_BY_HOP.has(name)) res.setHeader(name, answer[name]!);
        return res;
      })
      .catch(() => {
        if (res.headersSent) return res.destroy();
        res.statusCode = 502;
        res.end();
      });
  };
}

// BENCH_SESSION_STORE=redis: SESSION_STORE=redis on the Redis at BENCH_REDIS_URL, under a key prefix of its own, removed at exit.
const redisStore = process.env.BENCH_SESSION_STORE === "redis";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
const REDIS_PREFIX = `cognito-bff-bench:${randomUUID()}:`;

async function exit(): Promise<never> {
  if (redisStore) {
    const client = new Redis(REDIS_URL);
    const keys = await client.keys(`${REDIS_PREFIX}*`).catch(() => []);
    if (keys.length > 0) await client.del(...keys).catch(() => 0);
    client.disconnect();
  }
  process.exit(0);
}
process.once("SIGINT", () => void exit());
process.once("SIGTERM", () => void exit());

async function main(): Promise<void> {
  const emu = await startEmulator({ users: [{ ...USER, emailVerified: true }], accessTokenTtlSeconds: 3600 });
  const bffServer = createServer();
  await new Promise<void>((resolve) => bffServer.listen(0, "127.0.0.1", resolve));
  bffServer.keepAliveTimeout = 60_000;
  const bffUrl = `http://127.0.0.1:${(bffServer.address() as AddressInfo).port}`;
  emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${bffUrl}/auth/callback/cognito`], logoutUris: [`${bffUrl}/`] });
  // BENCH_UPSTREAM=1 (bench/proxy.ts): a plain upstream with a small JSON body, relayed in user mode as /api/bench/*.
  const upstreamUrl = process.env.BENCH_UPSTREAM ? await listen(upstreamHandler) : undefined;
  const env = {
    ...(upstreamUrl ? { UPSTREAMS: JSON.stringify({ bench: { url: upstreamUrl, token: "user" } }) } : {}),
    NODE_ENV: "production",
    PUBLIC_URL: bffUrl.replace("http:", "https:"),
    AUTH_SECRET: TEST_SECRET,
    COGNITO_ISSUER: emu.issuer.replace("http:", "https:"),
    COGNITO_CLIENT_ID: CLIENT_ID,
    COGNITO_CLIENT_SECRET: CLIENT_SECRET,
  };
  const config = loadConfig(env);
  // Production settings, but wired to the local emulator and plain http (the bench has no TLS).
  const benchConfig = {
    ...config,
    publicUrl: new URL(bffUrl),
    cognito: { ...config.cognito, issuer: emu.issuer, domain: emu.url, endpoint: emu.url },
  };
  // Request logging stays on, written to /dev/null the way the service writes stdout (synchronously): its cost is part of the route's.
  // BENCH_LOG_SYNC=0 writes asynchronously instead (pino's default), to compare.
  const sink = pino.destination({ dest: "/dev/null", sync: process.env.BENCH_LOG_SYNC !== "0" });
  const log = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? "info", destination: sink });
  const redis = redisStore ? createRedisClients({ url: REDIS_URL, keyPrefix: REDIS_PREFIX }) : undefined;
  const storeConfig = redisStore ? { ...benchConfig, sessionStore: "redis" as const, redisUrl: REDIS_URL } : benchConfig;
  const { app } = await createApp({ config: storeConfig, cognito: createCognitoGateway(benchConfig.cognito), log, now: () => emu.clock.now(), ...(redis ? { redis } : {}) });
  bffServer.on("request", app);

  // BENCH_OTLP_URL (bench/token.ts with BENCH_TRACING=1): a second BFF, the same in every other way, with tracing on,
  // exporting every span (parentbased_always_on, default batching) to the sink receiver at that URL.
  let tracedUrl: string | undefined;
  if (process.env.BENCH_OTLP_URL) {
    const tracing = await startTracing(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: process.env.BENCH_OTLP_URL }).tracing, log);
    const traced = await createApp({ config: storeConfig, cognito: createCognitoGateway(benchConfig.cognito, { tracing }), log, now: () => emu.clock.now(), tracing, ...(redis ? { redis } : {}) });
    tracedUrl = await listen(traced.app);
  }

  // A valid session, and an expired one (signed in, then the clock moves past expiry for every request).
  const jar = await signIn(bffUrl);
  const tokenBody = await (await callToken(jar, bffUrl)).text();

  const bare = express();
  bare.disable("x-powered-by");
  bare.get("/bare", (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.type("json").send(tokenBody);
  });
  bare.get("/bare-delay", async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, REFRESH_DELAY_MS));
    res.setHeader("Cache-Control", "no-store");
    res.type("json").send(tokenBody);
  });
  const bareUrl = await listen(bare);
  const { access_token: accessToken } = JSON.parse(tokenBody) as { access_token: string };
  const minimalProxyUrl = upstreamUrl ? await listen(minimalProxy(upstreamUrl, accessToken)) : undefined;
  // GET /?gc=1 collects garbage first (the servers run with --expose-gc): what is left is what is still referenced.
  const statsUrl = await listen((req, res) => {
    if (req.url?.includes("gc=1")) globalThis.gc?.();
    res.setHeader("content-type", "application/json");
    const cpu = process.cpuUsage();
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    res.end(JSON.stringify({ rss, heapUsed, external, arrayBuffers, cpuMicros: cpu.user + cpu.system }));
  });

  process.stdout.write(
    `${JSON.stringify({ bffUrl, bareUrl, statsUrl, upstreamUrl, minimalProxyUrl, tracedUrl, cookie: jar.header(), bodyBytes: tokenBody.length, refreshDelayMs: REFRESH_DELAY_MS })}\n`,
  );

  // Control channel: "expire" moves the clock past expiry and makes Cognito answer after a fixed delay.
  // "profile-start" / "profile-stop <file>": a CPU profile of the servers while the parent loads them.
  const inspector = new Session();
  inspector.connect();
  process.stdin.on("data", (data) => {
    const [command, file] = String(data).trim().split(" ");
    if (command === "profile-start") {
      inspector.post("Profiler.enable", () => inspector.post("Profiler.start", () => process.stdout.write(`${JSON.stringify({ profiling: true })}\n`)));
    }
    if (command === "profile-stop") {
      inspector.post("Profiler.stop", (error, result) => {
        if (!error && file) writeFileSync(file, JSON.stringify(result.profile));
        process.stdout.write(`${JSON.stringify({ profile: file })}\n`);
      });
    }
    if (command === "expire") {
      emu.clock.advance(3600);
      emu.fault("InitiateAuth", { delayMs: REFRESH_DELAY_MS });
      process.stdout.write(`${JSON.stringify({ expired: true })}\n`);
    }
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
