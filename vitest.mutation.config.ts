/**
 * The tests StrykerJS runs (stryker.config.mjs): the ones that assert the behaviour of the mutated modules,
 * not the whole suite. Limited here, not with Stryker's `testFiles`: with `testFiles` (StrykerJS 10.1), a static
 * mutant (module-level code: CHUNK_SIZE, the header and exception sets, the regular expressions) is planned with
 * that file list as its test filter, which switches it to runtime activation; the vitest runner then activates it
 * in a `beforeAll`, after the module under test was imported, so the mutant never takes effect and is reported as
 * survived whatever the tests assert. Without `testFiles`, a static mutant is active from the start of a fresh
 * run of every related file of this list (vitest's related mode).
 */
import { BaseSequencer, type TestSpecification } from "vitest/node";
import { defineConfig } from "vitest/config";
import base from "./vitest.config.js";

/** Unit tests: pure functions, fast. */
const UNIT = [
  "test/unit/classify-error.test.ts",
  "test/unit/cognito-errors-table.test.ts",
  "test/unit/session-codec.test.ts",
  "test/unit/session-codec-keys.test.ts",
  "test/unit/session-cookies.test.ts",
  "test/unit/session-cookie-lines.test.ts",
  "test/unit/session-store.test.ts",
  "test/unit/session-ticket.test.ts",
  "test/unit/session-ticket-format.test.ts",
  "test/unit/token-refresher.test.ts",
  "test/unit/token-refresher-results.test.ts",
  "test/unit/refresh-decision.test.ts",
  "test/unit/upstreams.test.ts",
  "test/unit/upstream-path.test.ts",
  "test/unit/headers-stripping.test.ts",
  "test/unit/user-agent-summary.test.ts",
  "test/unit/redis-session-store-faults.test.ts",
  "test/unit/sign-in-params.test.ts",
  "test/unit/group-rule.test.ts",
  "test/unit/group-rule-log.test.ts",
  "test/unit/websocket-relay.test.ts",
];

/**
 * Integration tests, where only a real server shows the behaviour: the CORS preflights of the real app, what
 * reaches a real upstream, the Redis session store on the real Redis, the WebSocket relay. The ones that start
 * the app are related to every mutated module (a static mutant that no unit test kills runs them all), and all of
 * them run in the dry run of every mutation run: keep this list short.
 */
const INTEGRATION = [
  "test/integration/cors-preflight.test.ts",
  "test/integration/relay-hostile-headers.test.ts",
  "test/integration/redis-session-store.test.ts",
  "test/integration/redis-session-store-direct.test.ts",
  "test/integration/proxy-websocket.test.ts",
];

/**
 * Unit tests first. A static mutant runs every related file in one worker and Stryker bails at the first failing
 * test, so when a unit test kills it the integration files are never started (vitest's own order puts the slow
 * files first).
 */
class UnitTestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => (file.moduleId.includes("/test/unit/") ? 0 : 1);
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  ...base,
  test: { ...base.test, include: [...UNIT, ...INTEGRATION], sequence: { sequencer: UnitTestsFirst } },
});
