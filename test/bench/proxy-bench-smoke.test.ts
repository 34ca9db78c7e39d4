import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

/** A smoke run of the relay benchmark: three servers loaded, both ratios printed, exit 0. The numbers are never asserted. */
describe("npm run bench:proxy (smoke)", () => {
  it("prints the relay against the minimal proxy and against the upstream, each a median with its p99 ratio, and exits 0", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "bench/proxy.ts"], {
      env: { ...process.env, BENCH_DURATION: "1", BENCH_ROUNDS: "1", BENCH_CONNECTIONS: "4", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      encoding: "utf8",
      timeout: 90_000,
    });
    expect(run.status, run.stderr).toBe(0);
    for (const name of ["upstream directly", "minimal proxy", "through /api \\(user token\\)"]) {
      expect(run.stdout).toMatch(new RegExp(`^\\| ${name} \\| [1-9]\\d* \\|.* \\| 0 \\|$`, "m"));
    }
    const ratios = [...run.stdout.matchAll(/^relay \/ (minimal proxy|direct): .*median (\d+\.\d+)x; p99 ratio median (\d+\.\d+)x$/gm)];
    expect(ratios.map((m) => m[1])).toEqual(["minimal proxy", "direct"]);
    for (const m of ratios) expect(Number(m[2])).toBeGreaterThan(0);
  }, 120_000);
});
