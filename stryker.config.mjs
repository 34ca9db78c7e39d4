// @ts-check
/**
 * Mutation testing of the security-critical modules (StrykerJS 10, vitest runner, TypeScript checker).
 * `npm run test:mutation` runs it and then the per-module gate (scripts/mutation-gate.mjs, at least 90% each).
 *
 * Choices:
 * - The tests come from vitest.mutation.config.ts, not Stryker's `testFiles` (see there why).
 * - `perTest` coverage: a mutant runs only the tests that reached it.
 * - `ignoreStatic: false`: a mutant in module-level code (CHUNK_SIZE, the header and exception sets, the
 *   regular expressions) is reached while the module loads, before any test, so it has no per-test coverage and
 *   runs every related test of the list after a reload. That costs time (the integration tests are in the list),
 *   but those constants are exactly the rules under test here, so they are not ignored.
 * - Incremental mode against a committed baseline (test/mutation/stryker-incremental.json): a run re-tests only the
 *   mutants whose code changed, and the ones whose tests changed (see .ci/run for what invalidates a result).
 *   A run limited with `--mutate` writes its own file under reports/ instead: Stryker writes the incremental file
 *   from what it mutated, so a one-module run would otherwise drop every other module from the baseline.
 *
 * @see https://stryker-mutator.io/docs/stryker-js/configuration/
 * @see https://stryker-mutator.io/docs/stryker-js/incremental/
 * @see https://stryker-mutator.io/docs/mutation-testing-elements/static-mutants/
 */

import { readFileSync } from "node:fs";
import process from "node:process";
import { URL, fileURLToPath } from "node:url";

/**
 * The lines of `src/routes/proxy.ts` that decide the upstream path (DOT_SEGMENT to the end of upstreamPath): the
 * rest of that file is the Express wiring, whose tests start servers per relayed call. Found by text, not by
 * fixed numbers, because the file changes.
 */
function upstreamPathLines() {
  const lines = readFileSync(fileURLToPath(new URL("src/routes/proxy.ts", import.meta.url)), "utf8").split("\n");
  const start = lines.findIndex((line) => line.startsWith("const DOT_SEGMENT"));
  const fn = lines.findIndex((line) => line.startsWith("export function upstreamPath("));
  const end = lines.findIndex((line, i) => i > fn && line === "}");
  if (start === -1 || fn === -1 || end === -1) throw new Error("stryker.config.mjs: the upstream path code of src/routes/proxy.ts was not found");
  return `src/routes/proxy.ts:${start + 1}-${end + 1}`;
}

/** The modules under mutation testing; the gate reads the same list (a `file:lines` entry is judged as its file). */
export const MUTATED_MODULES = [
  "src/http/browser-guards.ts",
  "src/cognito/classify-error.ts",
  "src/auth/session-codec.ts",
  "src/auth/session-cookies.ts",
  "src/auth/session-store.ts",
  "src/auth/redis-session-store.ts",
  "src/auth/session-ticket.ts",
  "src/proxy/headers.ts",
  "src/refresh/token-refresher.ts",
  upstreamPathLines(),
  "src/http/sign-in-params.ts",
  "src/proxy/group-rule.ts",
  "src/proxy/websocket.ts",
];

const partial = process.argv.some((arg) => arg === "--mutate" || arg === "-m" || arg.startsWith("--mutate="));

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  packageManager: "npm",
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts", related: true, pool: "threads" },
  coverageAnalysis: "perTest",
  ignoreStatic: false,
  checkers: ["typescript"],
  // The production code only (test/mutation/tsconfig.json): the checker type-checks every mutant before it runs and
  // is the slowest part of a run; tests need no type-check to judge a mutant.
  tsconfigFile: "test/mutation/tsconfig.json",
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: MUTATED_MODULES,
  // The machine has 2 cores shared with other work; CI raises it with --concurrency.
  concurrency: 2,
  // Tests on real servers take a few hundred ms; a loaded machine must not turn them into timeouts.
  timeoutMS: 10_000,
  incremental: true,
  incrementalFile: partial ? "reports/mutation/partial-incremental.json" : "test/mutation/stryker-incremental.json",
  reporters: ["clear-text", "progress", "json", "html"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true, reportMutants: true },
  // The whole-run threshold is not the rule: the gate enforces 90% per module.
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
};
