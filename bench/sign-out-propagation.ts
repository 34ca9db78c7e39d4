/**
 * How long a sign-out takes to reach the other replicas: three replicas share
 * one Redis; a session is signed in on the first and used on all three (so each
 * holds it in its caches), then signed out on the first, and the other two are
 * polled with a copy of its cookie until both refuse it. Both session stores.
 *
 *   npm run bench:sign-out                      # 100 sign-outs per store
 *   BENCH_SIGN_OUTS=300 npm run bench:sign-out
 */
import { signIn, signOut, startHarness, type Bff } from "../test/helpers/harness.js";

const SIGN_OUTS = Number(process.env.BENCH_SIGN_OUTS ?? 100);
const REDIS = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

const refused = async (bff: Bff, cookie: string) => (await fetch(`${bff.url}/token`, { headers: { cookie, "x-csrf": "1" } })).status === 401;

async function measure(store: "cookie" | "redis"): Promise<number[]> {
  const env = { SESSION_STORE: store };
  const h = await startHarness({ redisUrl: REDIS, env });
  try {
    const others = [await h.startBff(env), await h.startBff(env)];
    const samples: number[] = [];
    for (let i = 0; i < SIGN_OUTS; i++) {
      const jar = await signIn(h.bff.url);
      const copy = jar.header();
      for (const bff of others) if (await refused(bff, copy)) throw new Error("a fresh session was refused");
      const started = performance.now();
      if ((await signOut(h.bff.url, jar)).status !== 302) throw new Error("sign-out failed");
      await Promise.all(
        others.map(async (bff) => {
          while (!(await refused(bff, copy))) {
            if (performance.now() - started > 5000) throw new Error("a replica still accepts the session after 5 s");
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }),
      );
      samples.push(performance.now() - started);
    }
    return samples.sort((a, b) => a - b);
  } finally {
    await h.close();
  }
}

const at = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

console.log(`sign-out propagation over 3 replicas sharing one Redis, ${SIGN_OUTS} sign-outs per store`);
console.log("(from the sign-out request to both other replicas refusing a copy of the cookie; includes the sign-out's own round-trip and its RevokeToken call)");
console.log("| store | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|");
for (const store of ["cookie", "redis"] as const) {
  const samples = await measure(store);
  console.log(`| ${store} | ${at(samples, 50).toFixed(1)} | ${at(samples, 99).toFixed(1)} | ${samples.at(-1)!.toFixed(1)} |`);
}
process.exit(0);
