/**
 * Sustained load on GET /token: 256 concurrent connections with one valid
 * session, the servers (bench/servers.ts: emulator + BFF) in a child process and
 * the load generator (autocannon) here.
 *
 * The connections open in batches of BENCH_RAMP_BATCH (default 32), each batch
 * once every connection of the one before has had an answer, the way clients
 * arrive through a load balancer rather than in one burst. A burst would measure
 * something else: libuv (since 1.45) accepts one connection per event-loop turn,
 * and a turn that serves 256 busy connections takes tens of milliseconds, so the
 * last of 256 connections opened at once to a saturated Node server (any Node
 * server, a bare node:http one included) waits seconds for its first answer, and
 * past autocannon's 10 s timeout on a slower machine. Then come the warm-up
 * (BENCH_WARMUP, default 10 s) and BENCH_DURATION seconds (default 60) measured
 * on the same connections.
 *
 * Prints requests, errors, non-2xx, timeouts (autocannon's, 10 s), p50/p99/max,
 * the server's RSS at start, after the warm-up and at the end, and its heap after
 * a full GC before and after the load. Exits 1 on any error, non-2xx answer or
 * timeout after the warm-up, when a batch of the ramp does not get all its answers
 * within 30 s, or when RSS (after the warm-up) or the retained heap grows more
 * than BENCH_MAX_GROWTH_PCT (default 20) percent.
 *
 *   npm run bench:load                      # ramp, 10 s warm-up, then 60 s at 256 connections
 *   BENCH_DURATION=5 npm run bench:load     # a quick check
 *   BENCH_TARGET=bare npm run bench:load    # the bare Express route of the same process
 *   BENCH_RAMP_BATCH=256 npm run bench:load # all connections in one burst
 */
import autocannon from "autocannon";
import { startBenchServers } from "./support.js";

const DURATION = Number(process.env.BENCH_DURATION ?? 60);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 256);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const MAX_GROWTH_PCT = Number(process.env.BENCH_MAX_GROWTH_PCT ?? 20);
const RAMP_BATCH = Number(process.env.BENCH_RAMP_BATCH ?? 32);
const RAMP_BATCH_LIMIT_MS = 30_000;

interface Servers {
  bffUrl: string;
  bareUrl: string;
  statsUrl: string;
  cookie: string;
}

/** What happened in one phase (warm-up or measurement), counted from autocannon's per-response events. */
class Phase {
  responses = 0;
  non2xx = 0;
  errors = 0;
  timeouts = 0;
  private latencies: number[] = [];
  private sorted: Float64Array | undefined;

  response(statusCode: number, latencyMs: number): void {
    this.responses++;
    if (statusCode < 200 || statusCode > 299) this.non2xx++;
    this.latencies.push(latencyMs);
    this.sorted = undefined;
  }

  error(error: Error): void {
    this.errors++;
    // autocannon reports a request that got no answer within its timeout as this error.
    if (error.message === "request timed out") this.timeouts++;
  }

  /** Latency percentile in ms (nearest rank). */
  percentile(p: number): number {
    if (this.latencies.length === 0) return Number.NaN;
    // Sorted once for all the percentiles of a report, not once per percentile.
    const sorted = (this.sorted ??= Float64Array.from(this.latencies).sort());
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  }
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const ms = (value: number) => value.toFixed(value < 10 ? 1 : 0);

async function main(): Promise<number> {
  const { child, next } = startBenchServers();
  try {
    const servers = (await next()) as Servers;
    const stats = async (query = "") => (await (await fetch(`${servers.statsUrl}/${query}`)).json()) as { rss: number; heapUsed: number };
    const rss = async () => (await stats()).rss;
    // The heap after a full GC, with no request in flight: what the process still references.
    const retainedHeap = async () => (await stats("?gc=1")).heapUsed;
    const url = process.env.BENCH_TARGET === "bare" ? `${servers.bareUrl}/bare` : `${servers.bffUrl}/token`;

    const headers = { cookie: servers.cookie, "x-csrf": "1" };
    const ramp = new Phase();
    const warmup = new Phase();
    const measured = new Phase();
    const after = new Phase(); // answers between the end of the measurement and the stop, not reported
    let phase = ramp;
    const instances: autocannon.Instance[] = [];
    const finished: Promise<void>[] = [];
    const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis));

    /** Opens `count` more connections; resolves once each has had an answer, or false after the batch limit. */
    const openBatch = (count: number): Promise<boolean> =>
      new Promise((resolve) => {
        const answered = new Set<autocannon.Client>();
        const limit = setTimeout(() => resolve(false), RAMP_BATCH_LIMIT_MS);
        let instance!: autocannon.Instance;
        // Longer than the run could last: every instance is stopped at the end of the measurement.
        const options = { url, headers, connections: count, duration: 24 * 3600 };
        finished.push(
          new Promise<void>((done, fail) => {
            instance = autocannon(options, (error: unknown) => (error ? fail(error instanceof Error ? error : new Error(String(error))) : done()));
          }),
        );
        instances.push(instance);
        instance.on("response", (client, statusCode, _bytes, latencyMs) => {
          phase.response(statusCode, latencyMs);
          if (answered.size < count && !answered.has(client)) {
            answered.add(client);
            if (answered.size === count) {
              clearTimeout(limit);
              resolve(true);
            }
          }
        });
        instance.on("reqError", (error: Error) => phase.error(error));
      });

    const heapStart = await retainedHeap();
    const rssStart = await rss();
    const started = performance.now();
    let opened = 0;
    let rampComplete = true;
    while (opened < CONNECTIONS && rampComplete) {
      const count = Math.min(RAMP_BATCH, CONNECTIONS - opened);
      rampComplete = await openBatch(count);
      opened += count;
    }
    const rampMs = performance.now() - started;
    phase = warmup;
    await sleep(WARMUP * 1000);
    phase = measured;
    const rssWarm = rss();
    await sleep(DURATION * 1000);
    phase = after;
    for (const instance of instances) instance.stop();
    await Promise.all(finished);
    const rssEnd = await rss();
    const rssAfterWarmup = await rssWarm;
    await sleep(2000); // connections closed, their requests done
    const heapEnd = await retainedHeap();

    const failures = measured.errors + measured.non2xx;
    const growthPct = ((rssEnd - rssAfterWarmup) / rssAfterWarmup) * 100;
    const heapGrowthPct = ((heapEnd - heapStart) / heapStart) * 100;
    console.log(
      `${process.env.BENCH_TARGET === "bare" ? "bare Express route" : "GET /token"}, ${CONNECTIONS} connections, ${DURATION} s after a ${WARMUP} s warm-up on the same connections (opened ${RAMP_BATCH} at a time)`,
    );
    console.log("| requests | req/s | errors | non-2xx | timeouts | p50 ms | p99 ms | max ms | RSS start / warm / end MB | RSS growth after warm-up |");
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|");
    console.log(
      `| ${measured.responses} | ${Math.round(measured.responses / DURATION)} | ${measured.errors} | ${measured.non2xx} | ${measured.timeouts} | ${ms(measured.percentile(50))} | ${ms(measured.percentile(99))} | ${ms(measured.percentile(100))} | ${mb(rssStart)} / ${mb(rssAfterWarmup)} / ${mb(rssEnd)} | ${growthPct.toFixed(1)}% |`,
    );
    console.log(
      `ramp: ${opened} connections open in ${Math.round(rampMs)} ms, ${ramp.responses} requests, ${ramp.errors} errors, ${ramp.non2xx} non-2xx, ${ramp.timeouts} timeouts, max ${ms(ramp.percentile(100))} ms; ` +
        `warm-up: ${warmup.responses} requests, ${warmup.errors} errors, ${warmup.non2xx} non-2xx, ${warmup.timeouts} timeouts, p99 ${ms(warmup.percentile(99))} ms, max ${ms(warmup.percentile(100))} ms`,
    );
    console.log(`heap after a full GC, nothing in flight: ${mb(heapStart)} MB before the load, ${mb(heapEnd)} MB after it (${heapGrowthPct.toFixed(1)}%)`);
    if (!rampComplete) console.log(`FAIL: a batch of ${RAMP_BATCH} new connections did not all get an answer within ${RAMP_BATCH_LIMIT_MS / 1000} s`);
    if (failures > 0) console.log(`FAIL: ${failures} errors (timeouts included) or non-2xx answers after the warm-up`);
    if (growthPct > MAX_GROWTH_PCT) console.log(`FAIL: RSS grew ${growthPct.toFixed(1)}% after warm-up (limit ${MAX_GROWTH_PCT}%)`);
    if (heapGrowthPct > MAX_GROWTH_PCT) console.log(`FAIL: the retained heap grew ${heapGrowthPct.toFixed(1)}% (limit ${MAX_GROWTH_PCT}%)`);
    return !rampComplete || failures > 0 || growthPct > MAX_GROWTH_PCT || heapGrowthPct > MAX_GROWTH_PCT ? 1 : 0;
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
