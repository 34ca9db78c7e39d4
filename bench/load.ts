/**
 * Sustained load on GET /token: 256 concurrent connections for BENCH_DURATION
 * seconds (default 60) with one valid session, the servers (bench/servers.ts:
 * emulator + BFF) in a child process and the load generator (autocannon) here.
 * Prints requests, errors, non-2xx, timeouts, p50/p99, and the server's RSS at
 * start, after the warm-up and at the end with the growth after warm-up.
 * Exits 1 on any error, non-2xx answer or timeout after the warm-up (10 s,
 * BENCH_WARMUP; its numbers are printed too), or when RSS grows more than
 * BENCH_MAX_GROWTH_PCT (default 20) percent after the warm-up.
 *
 *   npm run bench:load                      # 60 s, 256 connections
 *   BENCH_DURATION=5 npm run bench:load     # a quick check
 */
import autocannon from "autocannon";
import { startBenchServers } from "./support.js";

const DURATION = Number(process.env.BENCH_DURATION ?? 60);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 256);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const MAX_GROWTH_PCT = Number(process.env.BENCH_MAX_GROWTH_PCT ?? 20);

interface Servers {
  bffUrl: string;
  bareUrl: string;
  statsUrl: string;
  cookie: string;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<number> {
  const { child, next } = startBenchServers();
  try {
    const servers = (await next()) as Servers;
    const rss = async () => ((await (await fetch(servers.statsUrl)).json()) as { rss: number }).rss;
    // BENCH_TARGET=bare loads the bare Express route of the same process instead: the load generator's own baseline.
    const url = process.env.BENCH_TARGET === "bare" ? `${servers.bareUrl}/bare` : `${servers.bffUrl}/token`;
    const options = { url, headers: { cookie: servers.cookie, "x-csrf": "1" }, connections: CONNECTIONS };

    const rssStart = await rss();
    const warmup = await autocannon({ ...options, duration: WARMUP });
    const rssWarm = await rss();
    const run = await autocannon({ ...options, duration: DURATION });
    const rssEnd = await rss();

    // autocannon counts timeouts among errors. The warm-up (cold JIT, connections opening) is reported, not judged.
    const failures = run.errors + run.non2xx;
    const growthPct = ((rssEnd - rssWarm) / rssWarm) * 100;
    console.log(`${process.env.BENCH_TARGET === "bare" ? "bare Express route" : "GET /token"}, ${CONNECTIONS} connections, ${DURATION} s after a ${WARMUP} s warm-up`);
    console.log("| requests | req/s | errors | non-2xx | timeouts | p50 ms | p99 ms | RSS start / warm / end MB | RSS growth after warm-up |");
    console.log("|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    console.log(
      `| ${run.requests.total} | ${Math.round(run.requests.average)} | ${run.errors} | ${run.non2xx} | ${run.timeouts} | ${run.latency.p50} | ${run.latency.p99} | ${mb(rssStart)} / ${mb(rssWarm)} / ${mb(rssEnd)} | ${growthPct.toFixed(1)}% |`,
    );
    console.log(`warm-up: ${warmup.requests.total} requests, ${warmup.errors} errors, ${warmup.non2xx} non-2xx, ${warmup.timeouts} timeouts, p99 ${warmup.latency.p99} ms`);
    if (failures > 0) console.log(`FAIL: ${failures} errors (timeouts included) or non-2xx answers after the warm-up`);
    if (growthPct > MAX_GROWTH_PCT) console.log(`FAIL: RSS grew ${growthPct.toFixed(1)}% after warm-up (limit ${MAX_GROWTH_PCT}%)`);
    return failures > 0 || growthPct > MAX_GROWTH_PCT ? 1 : 0;
  } finally {
    child.kill();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
