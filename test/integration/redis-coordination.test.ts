import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Socket } from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { BffError } from "../../src/errors.js";
import { createMetrics } from "../../src/metrics.js";
import { createRedisClients, type RedisClients } from "../../src/redis.js";
import { RedisCoordinator } from "../../src/refresh/redis-coordinator.js";
import { createResultSeal } from "../../src/refresh/result-seal.js";
import type { RefreshedTokens } from "../../src/refresh/refresh-coordinator.js";
import { callToken, freePort, replay, serverEnv, signIn, startHarness, type Harness } from "../helpers/harness.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
let h: Harness | undefined;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function threeReplicas(options: Parameters<typeof startHarness>[0] = {}) {
  h = await startHarness({ redisUrl: REDIS, emulator: { accessTokenTtlSeconds: 3600 }, ...options });
  const replicas = [h.bff, await h.startBff(), await h.startBff()];
  const jar = await signIn(h.bff.url);
  return { h, replicas, jar };
}

async function storm(replicas: { url: string }[], cookie: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await fetch(`${replicas[i % replicas.length]!.url}/token`, { headers: { cookie, "x-csrf": "1" } });
      return { status: res.status, body: (await res.json()) as { access_token?: string; error?: string }, setCookie: res.headers.getSetCookie() };
    }),
  );
}

describe("one refresh per refresh token across replicas (Redis)", () => {
  it("200 concurrent /token calls with one expired session on three replicas make exactly one Cognito call", async () => {
    const { h, replicas, jar } = await threeReplicas();
    h.emu.clock.advance(3600);
    h.emu.fault("InitiateAuth", { delayMs: 300, times: 1 });
    const answers = await storm(replicas, jar.header(), 200);
    expect(answers.map((a) => a.status)).toEqual(Array(200).fill(200));
    expect(new Set(answers.map((a) => a.body.access_token)).size).toBe(1);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    const coalesced = await Promise.all(replicas.map(async (r) => (await r.bff.metrics.coalesced.get()).values.reduce((n, v) => n + v.value, 0)));
    expect(coalesced.reduce((a, b) => a + b)).toBe(199);
  });

  it("with rotation and a 0 s grace period: still one call, no reuse error, and every answer's cookie keeps working", async () => {
    const { h, replicas, jar } = await threeReplicas({
      client: { rotation: { enabled: true, gracePeriodSeconds: 0 } },
      env: { COGNITO_REFRESH_TOKEN_ROTATION: "true" },
    });
    h.emu.clock.advance(3600);
    h.emu.fault("GetTokensFromRefreshToken", { delayMs: 200, times: 1 });
    const answers = await storm(replicas, jar.header(), 60);
    expect(answers.map((a) => a.status)).toEqual(Array(60).fill(200));
    expect(h.emu.calls("GetTokensFromRefreshToken")).toBe(1);
    // Any replica's answer carries a session with the one rotated refresh token.
    const cookies = new Set<string>();
    for (const a of answers) cookies.add(a.setCookie.map((c) => c.split(";")[0]).join("; "));
    const refreshTokens = new Set(
      await Promise.all([...cookies].map(async (c) => (await replicas[0]!.bff.sessions.read(c)).session!.refresh_token)),
    );
    expect(refreshTokens.size).toBe(1);
    expect(h.emu.refreshTokenState([...refreshTokens][0]!)).toBe("active");
  });

  it("a late request with the old cookie 10 s after the refresh gets the new tokens and cookie from another replica, without calling Cognito", async () => {
    const { h, replicas, jar } = await threeReplicas();
    const oldCookie = jar.header();
    h.emu.clock.advance(3600);
    const first = (await (await callToken(jar, replicas[0]!.url)).json()) as { access_token: string };
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    h.emu.clock.advance(10);
    const late = await fetch(`${replicas[2]!.url}/token`, { headers: { cookie: oldCookie, "x-csrf": "1" } });
    expect(late.status).toBe(200);
    expect(((await late.json()) as { access_token: string }).access_token).toBe(first.access_token);
    expect(late.headers.getSetCookie().length).toBeGreaterThan(0);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    expect((await replicas[2]!.bff.metrics.coalesced.get()).values).toEqual([expect.objectContaining({ labels: { via: "late" }, value: 1 })]);
  });

  it("a refresh failure reaches every waiter as the same classified error", async () => {
    const { h, replicas, jar } = await threeReplicas();
    h.emu.clock.advance(3600);
    h.emu.fault("InitiateAuth", { delayMs: 200, error: { code: "NotAuthorizedException", message: "Refresh Token has been revoked" } });
    const answers = await storm(replicas, jar.header(), 30);
    expect(new Set(answers.map((a) => `${a.status} ${a.body.error}`))).toEqual(new Set(["401 session_expired"]));
    expect(h.emu.calls("InitiateAuth")).toBe(1);
  });
});


async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  for (let i = 0; i < 50; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
      s.connect(port, "127.0.0.1");
    });
    if (up) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("redis-server did not start");
}

describe("Redis is a helper, never a single point of failure", () => {
  it("with Redis pointed at a closed port, /token keeps working with in-process coordination and /readyz says so", async () => {
    h = await startHarness({ redisUrl: `redis://127.0.0.1:${await freePort()}`, emulator: { accessTokenTtlSeconds: 3600 } });
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    const answers = await storm([h.bff], jar.header(), 20);
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    // Still serving, but not ready: a replica without Redis cannot coordinate with the others.
    const readyz = await fetch(`${h.bff.url}/readyz`);
    expect(readyz.status).toBe(503);
    const ready = (await readyz.json()) as { checks: { redis: Record<string, string> } };
    expect(ready.checks.redis).toEqual({ status: "down", error: "unreachable", coordination: "local" });
    expect((await h.bff.bff.metrics.redisUnavailable.get()).values[0]!.value).toBe(1);
  });

  it("Redis stopped mid-test and started again: /token answers throughout, the outage is logged once, and coordination resumes", async () => {
    const port = await freePort();
    let redisServer = await startRedisServer(port);
    cleanups.push(() => void redisServer.kill("SIGKILL"));
    // COGNITO_TIMEOUT_MS 500: the refresh lease is 1.5 s.
    h = await startHarness({ redisUrl: `redis://127.0.0.1:${port}`, emulator: { accessTokenTtlSeconds: 3600 }, env: { COGNITO_TIMEOUT_MS: "500" } });
    const jar = await signIn(h.bff.url);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.bff.bff.coordinator.status()).toEqual({ mode: "redis", redis: "up" });

    redisServer.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    h.emu.clock.advance(3600);
    // For one lease another replica may still be refreshing this token: 503, the session kept, Cognito not called.
    const early = await callToken(jar, h.bff.url);
    expect(early.status).toBe(503);
    expect(early.headers.get("retry-after")).toBe("1");
    expect(early.headers.getSetCookie()).toEqual([]);
    expect(h.emu.calls("InitiateAuth")).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < 5; i++) {
      const res = await callToken(jar, h.bff.url);
      expect(res.status).toBe(200);
      h.emu.clock.advance(3600);
    }
    expect(h.bff.bff.coordinator.status().redis).toBe("down");
    expect(h.bff.logs.filter((l) => l.includes("redis unavailable")).length).toBe(1);

    redisServer = await startRedisServer(port);
    for (let i = 0; i < 40 && h.bff.bff.coordinator.status().redis !== "up"; i++) await new Promise((r) => setTimeout(r, 100));
    expect(h.bff.bff.coordinator.status().redis).toBe("up");
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
    expect(h.bff.logs.filter((l) => l.includes("redis available again")).length).toBe(1);
  });
});

/** Two coordinators on one Redis key prefix with a 300 ms lease, as two replicas; closed after the test. */
async function twoReplicasOnOneRedis(metrics = [createMetrics(), createMetrics()]) {
  const prefix = `cognito-bff-test:${randomUUID()}:`;
  const clients: RedisClients[] = [createRedisClients({ url: REDIS, keyPrefix: prefix }), createRedisClients({ url: REDIS, keyPrefix: prefix })];
  const seal = createResultSeal(["fencing-test-secret-0123456789abcdef"]);
  const coordinators = clients.map(
    (c, i) =>
      new RedisCoordinator({
        redis: c.redis,
        subscriber: c.subscriber,
        channelPrefix: prefix,
        seal,
        now: Date.now,
        resultTtlSeconds: 60,
        leaseMs: 300,
        waitTimeoutMs: 2000,
        log: pino({ level: "silent" }),
        metrics: metrics[i]!,
      }),
  );
  cleanups.push(() => Promise.all(coordinators.map((c) => c.close())).then(() => {}));
  await new Promise((r) => setTimeout(r, 100));
  return { clients, seal, coordinators };
}

describe("fencing", () => {
  it("a lock holder that stalls past its lease does not overwrite a newer result, and takes the newer one", async () => {
    const { clients, seal, coordinators } = await twoReplicasOnOneRedis();
    const tokens = (name: string): RefreshedTokens => ({ access_token: name, refresh_token: `rt-${name}`, expires_at: 2, issued_at: 1 });

    let releaseA!: () => void;
    const stalled = new Promise<void>((resolve) => (releaseA = resolve));
    const a = coordinators[0]!.refresh("key-1", async () => {
      await stalled;
      return tokens("from-A");
    });
    await new Promise((r) => setTimeout(r, 50));
    // A's process stalls: its lease runs out, and B takes over the refresh.
    await clients[0]!.redis.del("rt:{key-1}:lock");
    const b = await coordinators[1]!.refresh("key-1", async () => tokens("from-B"));
    expect(b).toEqual({ tokens: tokens("from-B"), via: "performed" });
    releaseA();
    expect(await a).toEqual({ tokens: tokens("from-B"), via: "redis" });
    const stored = seal.open((await clients[0]!.redis.get("rt:{key-1}:result"))!, "key-1");
    expect(stored).toEqual({ ok: tokens("from-B") });
    // No token in Redis in the clear.
    expect(await clients[0]!.redis.get("rt:{key-1}:result")).not.toContain("from-B");
  });
});

describe("a lock holder that stalls past its lease (issue 13, item 11)", () => {
  it("a holder whose lease ran out and whose refresh Cognito then rejects answers with the result of the replica that took over, and counts the lost lease", async () => {
    const metrics = [createMetrics(), createMetrics()];
    const { clients, coordinators } = await twoReplicasOnOneRedis(metrics);
    const fromB: RefreshedTokens = { access_token: "from-B", refresh_token: "rt-B", expires_at: 2, issued_at: 1 };

    let releaseA!: () => void;
    const stalled = new Promise<void>((resolve) => (releaseA = resolve));
    const a = coordinators[0]!.refresh("key-2", async () => {
      await stalled;
      // A calls Cognito only after its stall: B has spent the token meanwhile.
      throw new BffError("session_expired", { logDetail: "RefreshTokenReuseException" });
    });
    await new Promise((r) => setTimeout(r, 50));
    await clients[0]!.redis.del("rt:{key-2}:lock"); // A's lease runs out
    const b = coordinators[1]!.refresh("key-2", async () => {
      releaseA();
      await new Promise((r) => setTimeout(r, 100));
      return fromB;
    });
    expect(await b).toEqual({ tokens: fromB, via: "performed" });
    expect(await a).toEqual({ tokens: fromB, via: "redis" });
    expect((await metrics[0]!.leaseLost.get()).values[0]!.value).toBe(1);
    expect((await metrics[1]!.leaseLost.get()).values[0]?.value ?? 0).toBe(0);
  });

  it("with rotation and a 0 s grace period: the replica that took over, rejected by Cognito, answers with the stalled holder's result instead of 401; the holder counts bff_refresh_lease_lost_total", async () => {
    // Regression: the second replica refreshed with the refresh token the frozen one had already spent, Cognito refused
    // it (grace period 0), and it answered 401 session_expired and cleared the cookies: the user was signed out.
    h = await startHarness({
      redisUrl: REDIS,
      emulator: { accessTokenTtlSeconds: 3600 },
      client: { rotation: { enabled: true, gracePeriodSeconds: 0 } },
      env: { COGNITO_REFRESH_TOKEN_ROTATION: "true", COGNITO_TIMEOUT_MS: "500" }, // a lease of 1.5 s
    });
    const jar = await signIn(h.bff.url);
    const cookie = jar.header();
    h.emu.clock.advance(3600);

    // Replica A, in its own process so that it can be frozen: it waits 300 ms between Cognito's answer and using it.
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const output: string[] = [];
    const a = spawn(process.execPath, ["--import", "tsx", "test/helpers/stalling-replica.ts"], {
      cwd: new URL("../../", import.meta.url),
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        ...serverEnv(h.emu, url),
        REDIS_URL: REDIS,
        REDIS_KEY_PREFIX: h.redisPrefix,
        COGNITO_REFRESH_TOKEN_ROTATION: "true",
        COGNITO_TIMEOUT_MS: "500",
        BFF_TEST_CLOCK_OFFSET_MS: String(h.emu.clock.now() - Date.now()),
        BFF_TEST_PAUSE_AFTER_REFRESH_MS: "300",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    cleanups.push(() => void a.kill("SIGKILL"));
    a.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    a.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const printed = async (text: string, ms: number) => {
      const until = Date.now() + ms;
      while (!output.join("").includes(text)) {
        if (Date.now() > until || a.exitCode !== null) throw new Error(`replica A did not print "${text}":\n${output.join("")}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    await printed("listening", 15_000);

    // A takes the lock and spends the refresh token; Cognito has rotated it when A freezes.
    const answerA = replay({ url }, cookie);
    await printed("refresh answered", 5000);
    a.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 1700)); // A's lease (1.5 s) runs out
    const answerB = replay(h.bff, cookie);
    await new Promise((r) => setTimeout(r, 300));
    a.kill("SIGCONT");

    const [resA, resB] = await Promise.all([answerA, answerB]);
    expect(h.emu.calls("GetTokensFromRefreshToken")).toBe(2); // A's, then B's with the spent token
    expect(resA.status).toBe(200);
    expect(resB.status).toBe(200);
    const tokenA = ((await resA.json()) as { access_token: string }).access_token;
    expect(((await resB.json()) as { access_token: string }).access_token).toBe(tokenA);
    // B's cookie carries A's rotated refresh token, which keeps working.
    const cookieB = resB.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
    const { session } = await h.bff.bff.sessions.read(cookieB);
    expect(h.emu.refreshTokenState(session!.refresh_token)).toBe("active");
    expect(await (await fetch(`${url}/__metrics`)).text()).toMatch(/^bff_refresh_lease_lost_total 1$/m);
    expect(h.bff.logs.join("")).toContain("answered with that holder's result");
  });
});

describe("Redis failing while another replica refreshes", () => {
  it("a waiting replica answers 503 instead of refreshing with the same refresh token itself; one Cognito call in all", async () => {
    // Regression: the waiter fell back to an in-process refresh, so a Redis blip (a failover) cost one extra refresh per replica.
    const proxy = await startTcpProxy(Number(new URL(REDIS).port || 6379));
    cleanups.push(() => proxy.close());
    h = await startHarness({ redisUrl: REDIS, emulator: { accessTokenTtlSeconds: 3600 } });
    const waiter = await h.startBff({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    h.emu.fault("InitiateAuth", { delayMs: 800, times: 1 });
    const holder = callToken(jar, h.bff.url);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const waiting = callToken(jar, waiter.url);
    await new Promise((resolve) => setTimeout(resolve, 150));
    proxy.cut();
    const [held, waited] = await Promise.all([holder, waiting]);
    expect(held.status).toBe(200);
    expect(waited.status).toBe(503);
    expect(Number(waited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(waited.headers.getSetCookie()).toEqual([]);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
  });
});
