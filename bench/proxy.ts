/**
 * The token relay against the same upstream called directly, side by side in
 * one run with the same connections, duration and request (cookie and CSRF
 * header included): `/api/bench/x` through the BFF in `user` mode (session
 * read, token attached, response streamed back) vs `GET /x` on the upstream.
 * The servers run in a child process (bench/servers.ts with BENCH_UPSTREAM=1);
 * the load (autocannon) runs here.
 *
 *   npm run bench:proxy                    # 10 s per run, best of 3
 *   BENCH_DURATION=2 npm run bench:proxy   # shorter
 */
import autocannon from "autocannon";
import { best, median, pinningNote, startBenchServers } from "./support.js";

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(name: string, url: string, headers: Record<string, string>, duration = DURATION): Promise<Row> {
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration });
  return { name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}

async function main(): Promise<void> {
  const { child, pinned, next } = startBenchServers({ ...process.env, BENCH_UPSTREAM: "1" });
  try {
    const servers = (await next()) as { bffUrl: string; upstreamUrl: string; cookie: string };
    const headers = { cookie: servers.cookie, "x-csrf": "1" };
    const proxied = `${servers.bffUrl}/api/bench/x`;
    const direct = `${servers.upstreamUrl}/x`;
    console.log(
      `/api/bench/x (user mode) vs the upstream directly: ${CONNECTIONS} connections, ${DURATION} s per run, best of ${ROUNDS} alternating runs; ${pinningNote(pinned)}`,
    );
    await load("warm-up", proxied, headers, 1);
    await load("warm-up", direct, headers, 1);
    const directRows: Row[] = [];
    const proxiedRows: Row[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      directRows.push(await load("upstream directly", direct, headers));
      proxiedRows.push(await load("through /api (user token)", proxied, headers));
    }
    const [d, p] = [best(directRows), best(proxiedRows)];
    console.log("\n| route | req/s | p50 ms | p99 ms | errors |");
    console.log("|---|---:|---:|---:|---:|");
    for (const r of [d, p]) console.log(`| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} |`);
    const paired = proxiedRows.map((row, i) => row.rps / directRows[i]!.rps);
    console.log(`ratio proxied / direct: ${(p.rps / d.rps).toFixed(2)}x req/s (best vs best), p50 ${p.p50} vs ${d.p50} ms, p99 ${p.p99} vs ${d.p99} ms`);
    const spread = (rows: Row[]) => `${Math.round(Math.min(...rows.map((r) => r.rps)))}–${Math.round(Math.max(...rows.map((r) => r.rps)))}`;
    console.log(`req/s per round (${ROUNDS}): directly ${spread(directRows)}, through /api ${spread(proxiedRows)}`);
    console.log(`paired rounds: ${paired.map((r) => r.toFixed(2)).join(", ")}; median ${median(paired).toFixed(2)}x`);
  } finally {
    child.kill();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
