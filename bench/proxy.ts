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
import { spawn, spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";
import autocannon from "autocannon";

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

const best = (rows: Row[]): Row => rows.reduce((a, b) => (b.rps > a.rps ? b : a));
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  // As bench/token.ts: with taskset, the servers get CPU 0 and the load generator the others.
  const pin = process.platform === "linux" && spawnSync("taskset", ["-c", "0", "true"]).status === 0;
  const serverCommand = [process.execPath, "--import", "tsx", "bench/servers.ts"];
  const env = { ...process.env, BENCH_UPSTREAM: "1" };
  const child = pin
    ? spawn("taskset", ["-c", "0", ...serverCommand], { stdio: ["pipe", "pipe", "inherit"], env })
    : spawn(serverCommand[0]!, serverCommand.slice(1), { stdio: ["pipe", "pipe", "inherit"], env });
  if (pin) spawnSync("taskset", ["-p", "-c", `1-${Math.max(1, availableParallelism() - 1)}`, String(process.pid)]);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  try {
    const servers = JSON.parse(String((await lines.next()).value)) as { bffUrl: string; upstreamUrl: string; cookie: string };
    const headers = { cookie: servers.cookie, "x-csrf": "1" };
    const proxied = `${servers.bffUrl}/api/bench/x`;
    const direct = `${servers.upstreamUrl}/x`;
    console.log(
      `/api/bench/x (user mode) vs the upstream directly: ${CONNECTIONS} connections, ${DURATION} s per run, best of ${ROUNDS} alternating runs; ${pin ? "servers pinned to CPU 0, load on the others" : "no CPU pinning"}`,
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
    console.log(`paired rounds: ${paired.map((r) => r.toFixed(2)).join(", ")}; median ${median(paired).toFixed(2)}x`);
  } finally {
    child.kill();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
