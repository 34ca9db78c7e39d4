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
