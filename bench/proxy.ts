/**
 * The token relay against two baselines, side by side in one run with the same
 * connections, duration and request (cookie and CSRF header included):
 * `/api/bench/x` through the BFF in `user` mode (session read, token attached,
 * response streamed back) vs a minimal reverse proxy (node:http + an undici
 * Pool adding a fixed bearer token, bench/servers.ts) vs `GET /x` on the
 * upstream directly. The servers run in a child process (bench/servers.ts
 * with BENCH_UPSTREAM=1, pinned to one core); the load (autocannon) runs here.
 * Each round runs the three once, in turn; the ratios are the median of the
 * rounds' ratios.
 *
 *   npm run bench:proxy                                   # 10 s per run, 5 rounds
 *   BENCH_DURATION=3 BENCH_ROUNDS=7 npm run bench:proxy   # shorter runs, more rounds
 *   BENCH_PROFILE=relay.cpuprofile npm run bench:proxy    # plus a CPU profile of the servers under the relay's load
 *   BENCH_PROFILE=min.cpuprofile BENCH_PROFILE_TARGET="minimal proxy" npm run bench:proxy   # ... under another's
 */
import autocannon from "autocannon";
import { median, pinningNote, startBenchServers } from "./support.js";

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

interface Row {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

async function load(url: string, headers: Record<string, string>, duration = DURATION): Promise<Row> {
  const result = await autocannon({ url, headers, connections: CONNECTIONS, duration });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx };
}

const spread = (rows: Row[]) => `${Math.round(Math.min(...rows.map((r) => r.rps)))}–${Math.round(Math.max(...rows.map((r) => r.rps)))}`;
const medianOf = (rows: Row[], key: keyof Row) => median(rows.map((r) => r[key]));

async function main(): Promise<void> {
  const { child, pinned, next, send } = startBenchServers({ ...process.env, BENCH_UPSTREAM: "1" });
  try {
    const servers = (await next()) as { bffUrl: string; upstreamUrl: string; minimalProxyUrl: string; cookie: string };
    const headers = { cookie: servers.cookie, "x-csrf": "1" };
    const targets = {
      "upstream directly": `${servers.upstreamUrl}/x`,
      "minimal proxy": `${servers.minimalProxyUrl}/x`,
      "through /api (user token)": `${servers.bffUrl}/api/bench/x`,
    };
    const names = Object.keys(targets) as (keyof typeof targets)[];
    console.log(`/api/bench/x (user mode) vs a minimal undici proxy vs the upstream directly: ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds; ${pinningNote(pinned)}`);
    for (const name of names) await load(targets[name], headers, 1);
    const rows = Object.fromEntries(names.map((name) => [name, [] as Row[]])) as Record<keyof typeof targets, Row[]>;
    for (let i = 0; i < ROUNDS; i++) {
      for (const name of names) rows[name].push(await load(targets[name], headers));
    }
    console.log("\n| route | req/s (median) | p50 ms (median) | p99 ms (median) | errors |");
    console.log("|---|---:|---:|---:|---:|");
    for (const name of names) {
      const r = rows[name];
      console.log(`| ${name} | ${Math.round(medianOf(r, "rps"))} | ${medianOf(r, "p50")} | ${medianOf(r, "p99")} | ${r.reduce((n, x) => n + x.errors, 0)} |`);
    }
    const relay = rows["through /api (user token)"];
    for (const [label, base] of [["minimal proxy", rows["minimal proxy"]], ["direct", rows["upstream directly"]]] as const) {
      const paired = relay.map((row, i) => row.rps / base[i]!.rps);
      const p99 = relay.map((row, i) => row.p99 / Math.max(1, base[i]!.p99));
      console.log(
        `relay / ${label}: req/s paired rounds ${paired.map((r) => r.toFixed(2)).join(", ")}; median ${median(paired).toFixed(2)}x; p99 ratio median ${median(p99).toFixed(2)}x`,
      );
    }
    console.log(`req/s per round (${ROUNDS}): ${names.map((name) => `${name} ${spread(rows[name])}`).join(", ")}`);
    if (process.env.BENCH_PROFILE) {
      send("profile-start");
      await next();
      await load(targets[(process.env.BENCH_PROFILE_TARGET ?? "through /api (user token)") as keyof typeof targets], headers);
      send(`profile-stop ${process.env.BENCH_PROFILE}`);
      console.log(`\nCPU profile (${process.env.BENCH_PROFILE_TARGET ?? "the relay"}) written to ${String(((await next()) as { profile: string }).profile)}`);
    }
  } finally {
    child.kill();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
