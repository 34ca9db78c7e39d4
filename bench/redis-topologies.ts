/**
 * The same work on a standalone Redis and on a Redis Cluster (3 primaries, a
 * replica each, started here from the machine's redis-server), side by side,
 * with SESSION_STORE=redis: a refresh storm over three replicas, then GET /token
 * on one replica under load.
 *
 *   npm run bench:redis                  # 300-request storm, 5 s of load per topology
 *   BENCH_DURATION=10 npm run bench:redis
 */
import autocannon from "autocannon";
import { callToken, signIn, startHarness } from "../test/helpers/harness.js";
import { startRedisCluster } from "../test/helpers/redis-topologies.js";

const REQUESTS = Number(process.env.STORM_REQUESTS ?? 300);
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const STANDALONE = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

const at = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function measure(redisUrl: string, env: Record<string, string>) {
  const all = { SESSION_STORE: "redis", ...env };
  const h = await startHarness({ redisUrl, env: all, emulator: { accessTokenTtlSeconds: 3600 } });
  try {
    const replicas = [h.bff, await h.startBff(all), await h.startBff(all)];
    const jar = await signIn(h.bff.url);
    const cookie = jar.header();
    h.emu.clock.advance(3600);
    h.emu.fault("InitiateAuth", { delayMs: 50 });
    const results = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const started = performance.now();
        const res = await fetch(`${replicas[i % 3]!.url}/token`, { headers: { cookie, "x-csrf": "1" } });
        await res.arrayBuffer();
        return { ms: performance.now() - started, ok: res.status === 200 };
      }),
    );
    const stormMs = results.map((r) => r.ms).sort((a, b) => a - b);
    h.emu.clearFaults();
    if ((await callToken(jar, h.bff.url)).status !== 200) throw new Error("the session did not survive the storm");
    const load = await autocannon({ url: `${h.bff.url}/token`, headers: { cookie: jar.header(), "x-csrf": "1" }, connections: 32, duration: DURATION });
    return {
      calls: h.emu.calls("InitiateAuth"),
      ok: results.filter((r) => r.ok).length,
      stormP50: at(stormMs, 50),
      stormP99: at(stormMs, 99),
      rps: load.requests.average,
      p99: load.latency.p99,
      errors: load.errors + load.non2xx,
    };
  } finally {
    await h.close();
  }
}

const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1 });
try {
  console.log(`SESSION_STORE=redis: a ${REQUESTS}-request refresh storm over 3 replicas (Cognito 50 ms), then GET /token on one replica, 32 connections, ${DURATION} s`);
  console.log("| Redis | Cognito calls | storm 200s | storm p50 ms | storm p99 ms | GET /token req/s | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const [name, url, env] of [
    ["standalone", STANDALONE, {}],
    ["cluster (3 primaries + 3 replicas)", cluster.url, { REDIS_MODE: "cluster" }],
  ] as const) {
    const r = await measure(url, env);
    console.log(`| ${name} | ${r.calls} | ${r.ok}/${REQUESTS} | ${r.stormP50.toFixed(1)} | ${r.stormP99.toFixed(1)} | ${Math.round(r.rps)} | ${r.p99} | ${r.errors} |`);
  }
} finally {
  await cluster.close();
}
process.exit(0);
