/**
 * The refresh storm: one expired session, many concurrent GET /token spread
 * over three replicas, Cognito answering after a fixed delay. Prints the
 * number of Cognito refresh calls and the latency of the storm, with Redis
 * coordination and with in-process coordination only, side by side.
 *
 *   npm run bench:storm                 # 300 requests, 50 ms Cognito delay
 *   STORM_REQUESTS=1000 npm run bench:storm
 */
import { callToken, signIn, startHarness } from "../test/helpers/harness.js";

const REQUESTS = Number(process.env.STORM_REQUESTS ?? 300);
const DELAY_MS = Number(process.env.STORM_COGNITO_DELAY_MS ?? 50);
const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function storm(redisUrl: string | undefined): Promise<{ calls: number; ok: number; p50: number; p99: number; tokens: number }> {
  const h = await startHarness({ ...(redisUrl ? { redisUrl } : {}), emulator: { accessTokenTtlSeconds: 3600 } });
  try {
    const replicas = [h.bff, await h.startBff(), await h.startBff()];
    const jar = await signIn(h.bff.url);
    await callToken(jar, h.bff.url);
    h.emu.clock.advance(3600);
    h.emu.resetCalls();
    h.emu.fault("InitiateAuth", { delayMs: DELAY_MS });
    const cookie = jar.header();
    const results = await Promise.all(
      Array.from({ length: REQUESTS }, async (_, i) => {
        const started = performance.now();
        const res = await fetch(`${replicas[i % 3]!.url}/token`, { headers: { cookie, "x-csrf": "1" } });
        const body = (await res.json()) as { access_token?: string };
        return { ms: performance.now() - started, ok: res.status === 200, token: body.access_token };
      }),
    );
    const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
    return {
      calls: h.emu.calls("InitiateAuth"),
      ok: results.filter((r) => r.ok).length,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      tokens: new Set(results.map((r) => r.token)).size,
    };
  } finally {
    await h.close();
  }
}

async function main(): Promise<void> {
  console.log(`Refresh storm: ${REQUESTS} concurrent GET /token, one expired session, 3 replicas, Cognito answering after ${DELAY_MS} ms`);
  console.log("| coordination | Cognito calls | 200 answers | distinct tokens | p50 ms | p99 ms |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [name, url] of [["Redis (3 replicas)", REDIS], ["in-process only", undefined]] as const) {
    const r = await storm(url);
    console.log(`| ${name} | ${r.calls} | ${r.ok}/${REQUESTS} | ${r.tokens} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
