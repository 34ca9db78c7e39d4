/**
 * GET /token against a bare Express route serving a same-sized JSON body, side
 * by side in one run, with the same connections and duration, in paired rounds
 * (5 by default; the ratio is the median of the rounds' ratios); then the refresh
 * path against a bare route that waits as long as Cognito does; optionally a
 * memory soak. The servers run in a child process; the load (autocannon) runs
 * here.
 *
 *   npm run bench                      # 10 s per run
 *   BENCH_DURATION=3 npm run bench     # shorter
 *   BENCH_SOAK=1000000 npm run bench   # plus RSS after 50k and after 1M requests
 *   BENCH_SESSION_STORE=redis npm run bench   # the same with SESSION_STORE=redis (Redis at BENCH_REDIS_URL)
 *   BENCH_TRACING=1 npm run bench      # plus GET /token with tracing on vs off (spans to a sink receiver run here)
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import autocannon from "autocannon";
import { best, median, pinningNote, startBenchServers } from "./support.js";

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SOAK = Number(process.env.BENCH_SOAK ?? 0);
const TRACING = process.env.BENCH_TRACING === "1";

interface Servers {
  bffUrl: string;
  bareUrl: string;
  statsUrl: string;
  /** With BENCH_TRACING=1: the same BFF with tracing on. */
  tracedUrl?: string;
  cookie: string;
  bodyBytes: number;
  refreshDelayMs: number;
}

interface Row {
  name: string;
  rps: number;
  /** CPU time the server process spent per request (µs): steadier than req/s on a noisy machine. */
  cpuPerRequest: number;
  p50: number;
  p99: number;
  errors: number;
}

let statsUrl = "";
const serverCpuMicros = async () => ((await (await fetch(statsUrl)).json()) as { cpuMicros: number }).cpuMicros;

async function load(name: string, url: string, headers: Record<string, string>, options: { duration?: number; amount?: number } = {}): Promise<Row> {
  const cpuBefore = await serverCpuMicros();
  const result = await autocannon({
    url,
    headers,
    connections: CONNECTIONS,
    ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? DURATION }),
  });
  const cpuAfter = await serverCpuMicros();
  return {
    name,
    rps: result.requests.average,
    cpuPerRequest: (cpuAfter - cpuBefore) / Math.max(1, result.requests.total),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** `min–max` of the rounds' req/s: the spread a figure taken from them carries. */
const spread = (rows: Row[]) => `${Math.round(Math.min(...rows.map((r) => r.rps)))}–${Math.round(Math.max(...rows.map((r) => r.rps)))}`;

function table(title: string, baselines: Row[], subjects: Row[]): void {
  const [baseline, subject] = [best(baselines), best(subjects)];
  const pairedRatios = subjects.map((s, i) => s.rps / baselines[i]!.rps);
  console.log(`\n${title}`);
  console.log("| route | req/s | p50 ms | p99 ms | server CPU µs/req | errors |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of [baseline, subject]) {
    console.log(`| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.cpuPerRequest.toFixed(1)} | ${r.errors} |`);
  }
  console.log(`ratio ${subject.name} / ${baseline.name}: ${(subject.rps / baseline.rps).toFixed(2)}x req/s (best vs best), p99 ${subject.p99} vs ${baseline.p99} ms`);
  console.log(`req/s per round (${subjects.length}): ${baseline.name} ${spread(baselines)}, ${subject.name} ${spread(subjects)}`);
  console.log(`paired rounds: ${pairedRatios.map((r) => r.toFixed(2)).join(", ")}; median ${median(pairedRatios).toFixed(2)}x`);
  const p99Ratios = subjects.map((s, i) => s.p99 / Math.max(1, baselines[i]!.p99));
  console.log(`p99 per round: ${subjects.map((s, i) => `${s.p99}/${baselines[i]!.p99}`).join(", ")} ms; median ratio ${median(p99Ratios).toFixed(2)}x`);
  console.log(`CPU per request: ${(baseline.cpuPerRequest / subject.cpuPerRequest).toFixed(2)}x the baseline's efficiency (${baseline.cpuPerRequest.toFixed(1)} vs ${subject.cpuPerRequest.toFixed(1)} µs)`);
}

/**
 * An OTLP/HTTP sink in this process (on the load generator's cores, as a collector would be on
 * another machine): reads each export and answers 200 at once. Counts the spans' bytes.
 */
async function startSink(): Promise<{ url: string; exports: () => number; close: () => void }> {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports++;
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports: () => exports, close: () => server.close() };
}

async function main(): Promise<void> {
  const sink = TRACING ? await startSink() : undefined;
  const { child, pinned, next, send } = startBenchServers(sink ? { ...process.env, BENCH_OTLP_URL: sink.url } : process.env);
  try {
    const servers = (await next()) as Servers;
    statsUrl = servers.statsUrl;
    const auth = { cookie: servers.cookie, "x-csrf": "1" };
    console.log(
      `GET /token (SESSION_STORE=${process.env.BENCH_SESSION_STORE ?? "cookie"}) vs bare Express: ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} paired rounds (alternating runs); body ${servers.bodyBytes} bytes; ${pinningNote(pinned)}`,
    );

    // Warm-up, then alternate so that neither side always runs on a warmer machine.
    await load("warm-up", `${servers.bffUrl}/token`, auth, { duration: 1 });
    await load("warm-up", `${servers.bareUrl}/bare`, auth, { duration: 1 });
    const bare: Row[] = [];
    const token: Row[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // The same request (cookie and header included) to both, so only the handling differs.
      bare.push(await load("bare Express", `${servers.bareUrl}/bare`, auth));
      token.push(await load("GET /token", `${servers.bffUrl}/token`, auth));
    }
    table("Valid session (the hot path)", bare, token);

    if (servers.tracedUrl) {
      await load("warm-up", `${servers.tracedUrl}/token`, auth, { duration: 1 });
      const off: Row[] = [];
      const on: Row[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        off.push(await load("GET /token, tracing off", `${servers.bffUrl}/token`, auth));
        on.push(await load("GET /token, tracing on", `${servers.tracedUrl}/token`, auth));
      }
      table("Tracing: GET /token with tracing on (every request sampled, spans sent to a sink) vs off", off, on);
      console.log(`OTLP exports received by the sink: ${sink?.exports() ?? 0}`);
    }

    if (process.env.BENCH_PROFILE) {
      send("profile-start");
      await next();
      await load("profiled", `${servers.bffUrl}/token`, auth);
      send(`profile-stop ${process.env.BENCH_PROFILE}`);
      console.log(`\nCPU profile of GET /token written to ${String(((await next()) as { profile: string }).profile)}`);
    }

    if (SOAK > 0) {
      const rss = async () => ((await (await fetch(servers.statsUrl)).json()) as { rss: number }).rss;
      await load("soak", `${servers.bffUrl}/token`, auth, { amount: 50_000 });
      const after50k = await rss();
      const soak = await load("soak", `${servers.bffUrl}/token`, auth, { amount: SOAK - 50_000 });
      const afterAll = await rss();
      console.log(`\nMemory soak: RSS after 50k requests ${(after50k / 2 ** 20).toFixed(1)} MiB, after ${SOAK} ${(afterAll / 2 ** 20).toFixed(1)} MiB (${(((afterAll - after50k) / after50k) * 100).toFixed(1)}%), errors ${soak.errors}`);
    }

    send("expire");
    await next();
    // The same alternating rounds as above: after the first refresh, every request is a late one served from its stored result.
    const bareDelay: Row[] = [];
    const refresh: Row[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      bareDelay.push(await load(`bare Express + ${servers.refreshDelayMs} ms wait`, `${servers.bareUrl}/bare-delay`, auth));
      refresh.push(await load("GET /token, expired", `${servers.bffUrl}/token`, auth));
    }
    table(`Refresh path (expired token, Cognito answering after ${servers.refreshDelayMs} ms)`, bareDelay, refresh);
  } finally {
    child.kill();
    sink?.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
