/**
 * /readyz through real HTTP, with the emulator and the shared Redis behind TCP
 * proxies that the tests cut and restore (the shared servers keep running).
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp, type BffApp } from "../../src/app.js";
import { createCognitoGateway } from "../../src/cognito/cognito-gateway.js";
import { loadConfig } from "../../src/config.js";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { createLogger } from "../../src/log.js";
import { createRedisClients } from "../../src/redis.js";
import { CLIENT_ID, TEST_SECRET } from "../helpers/harness.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const REDIS_PORT = Number(new URL(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379").port || 6379);

interface Running {
  url: string;
  bff: BffApp;
  close(): Promise<void>;
}

let emu: Emulator;
let emuProxy: TcpProxy;
let redisProxy: TcpProxy;
const running: Running[] = [];

beforeAll(async () => {
  emu = await startEmulator();
  emuProxy = await startTcpProxy(Number(new URL(emu.url).port));
  redisProxy = await startTcpProxy(REDIS_PORT);
});
afterEach(async () => {
  emuProxy.restore();
  redisProxy.restore();
  await Promise.all(running.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await emuProxy?.close();
  await redisProxy?.close();
  await emu?.close();
});

/** A BFF whose issuer (and Redis, if asked) go through the proxies; readiness results are reused for 200 ms only. */
async function startBff(withRedis: boolean, timeoutMs = 2000): Promise<Running> {
  const config = loadConfig({
    NODE_ENV: "test",
    AUTH_SECRET: TEST_SECRET,
    COGNITO_ISSUER: `http://127.0.0.1:${emuProxy.port}/${emu.poolId}`,
    COGNITO_CLIENT_ID: CLIENT_ID,
    COGNITO_ENDPOINT: emu.url,
  });
  const log = createLogger({ level: "silent" });
  const cognito = createCognitoGateway(config.cognito);
  const redis = withRedis ? createRedisClients({ url: `redis://127.0.0.1:${redisProxy.port}`, keyPrefix: `cognito-bff-test:${randomUUID()}:` }) : undefined;
  const bff = await createApp({ config, cognito, log, ...(redis ? { redis } : {}), readiness: { timeoutMs, successTtlMs: 200, failureTtlMs: 200 } });
  const server: Server = createServer(bff.app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const entry: Running = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bff,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      cognito.destroy();
      await bff.close();
    },
  };
  running.push(entry);
  return entry;
}

interface Report {
  status: string;
  checks: { cognito: { status: string; error?: string }; redis: { status: string; coordination?: string; error?: string } };
}

async function readyz(url: string): Promise<{ status: number; body: Report }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as Report };
}

/** Polls /readyz until it answers `status` (cached results and reconnects take a moment). */
async function waitForReadyz(url: string, status: number, withinMs = 8000): Promise<{ status: number; body: Report }> {
  const until = Date.now() + withinMs;
  for (;;) {
    const answer = await readyz(url);
    if (answer.status === status || Date.now() > until) return answer;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("GET /readyz", () => {
  it("answers 503 with the reason while Cognito is unreachable, and 200 once it is back", async () => {
    const { url } = await startBff(false);
    const before = await readyz(url);
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ status: "ready", checks: { cognito: { status: "up" }, redis: { status: "not_configured", coordination: "local" } } });

    emuProxy.cut();
    const down = await waitForReadyz(url, 503);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe("not_ready");
    expect(down.body.checks.cognito).toMatchObject({ status: "down", error: expect.stringMatching(/connection failed|no answer/) });
    expect(JSON.stringify(down.body)).not.toContain("127.0.0.1");

    emuProxy.restore();
    const back = await waitForReadyz(url, 200);
    expect(back.status).toBe(200);
    expect(back.body.checks.cognito.status).toBe("up");
  });

  it("answers 503 within the timeout when discovery hangs, and names the timeout", async () => {
    const { url } = await startBff(false, 300);
    emu.fault("discovery", { delayMs: 3000 });
    try {
      const started = performance.now();
      const answer = await waitForReadyz(url, 503);
      expect(answer.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(answer.body.checks.cognito.error).toBe("no answer within 300 ms");
    } finally {
      emu.clearFaults();
    }
  });

  it("answers 503 while Redis is unreachable, and 200 with Redis coordination once it is back", async () => {
    const { url, bff } = await startBff(true);
    const up = await waitForReadyz(url, 200);
    expect(up.body.checks.redis).toMatchObject({ status: "up", coordination: "redis" });

    redisProxy.cut();
    const down = await waitForReadyz(url, 503);
    expect(down.status).toBe(503);
    expect(down.body.checks.redis).toMatchObject({ status: "down", coordination: "local" });
    expect(down.body.checks.cognito.status).toBe("up");
    const metrics = await bff.metrics.registry.getSingleMetricAsString("bff_dependency_up");
    expect(metrics).toContain('bff_dependency_up{dependency="redis"} 0');

    redisProxy.restore();
    const back = await waitForReadyz(url, 200);
    expect(back.status).toBe(200);
    expect(back.body.checks.redis).toMatchObject({ status: "up", coordination: "redis" });
  });

  it("shares one Cognito check among concurrent probes and reuses its result", async () => {
    const { url } = await startBff(false);
    emu.resetCalls();
    await Promise.all(Array.from({ length: 10 }, () => readyz(url)));
    expect(emu.calls("discovery")).toBe(1);
    expect(emu.calls("jwks")).toBe(1);
  });
});
