import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

/** A smoke run of the benchmark: it starts, produces numbers, exits 0. The numbers are reported, never asserted. */
describe("npm run bench (smoke)", () => {
  it("runs both tables with numbers and exits 0", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "bench/token.ts"], {
      env: { ...process.env, BENCH_DURATION: "1", BENCH_ROUNDS: "1", BENCH_CONNECTIONS: "4", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      encoding: "utf8",
      timeout: 90_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const ratios = [...run.stdout.matchAll(/^ratio .*: (\d+\.\d+)x req\/s/gm)].map((m) => Number(m[1]));
    expect(ratios).toHaveLength(2);
    for (const ratio of ratios) expect(ratio).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/\| GET \/token \| \d+ \|/);
  }, 120_000);
});

describe("npm run bench:load (smoke)", () => {
  it("ramps its connections up in batches, measures after the warm-up, and exits 0 with no error", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "bench/load.ts"], {
      env: {
        ...process.env,
        BENCH_CONNECTIONS: "8",
        BENCH_RAMP_BATCH: "3",
        BENCH_WARMUP: "1",
        BENCH_DURATION: "2",
        // Memory is judged by the real run; a 1 s warm-up is too short for RSS to settle.
        BENCH_MAX_GROWTH_PCT: "1000",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      },
      encoding: "utf8",
      timeout: 90_000,
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    const row = run.stdout.match(/^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|/m);
    expect(row, run.stdout).not.toBeNull();
    const [requests, , errors, non2xx, timeouts] = row!.slice(1).map(Number);
    expect(requests).toBeGreaterThan(0);
    expect([errors, non2xx, timeouts]).toEqual([0, 0, 0]);
    expect(run.stdout).toMatch(/ramp: 8 connections open in \d+ ms/);
    expect(run.stdout).toMatch(/heap after a full GC, nothing in flight: [\d.]+ MB before the load, [\d.]+ MB after it/);
  }, 120_000);
});
