import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/npm.js";

const WARNING = "log lines dropped while stdout was blocked";

// The scripts run on plain Node, as `node dist/cli.js` does: tsx would make fd 1 non-blocking itself (it reads
// process.stdout), hiding whether the log does. src/log.ts and src/log-destination.ts are bundled for them (one shared
// chunk, so both see one stdout writer), next to node_modules so that pino resolves.
const modules = join(ROOT, "node_modules", ".cache", `cognito-bff-log-test-${process.pid}`);
const LOG = pathToFileURL(join(modules, "log.js")).href;
const LOG_DESTINATION = pathToFileURL(join(modules, "log-destination.js")).href;

beforeAll(async () => {
  await build({
    entryPoints: [join(ROOT, "src/log.ts"), join(ROOT, "src/log-destination.ts")],
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    packages: "external",
    outdir: modules,
    logLevel: "silent",
  });
});
afterAll(() => rmSync(modules, { recursive: true, force: true }));

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Runs `script` (an ES module) on plain Node in a child process whose stdout is a pipe. With
 * `readAfterMs`, the pipe is not read until then (counted from when the child writes `fromStderr` to
 * stderr, if given): the child's writes fill it and fail with EAGAIN.
 */
async function runScript(script: string, options: { readAfterMs?: number; fromStderr?: string; fifo?: boolean } = {}): Promise<Run> {
  if (options.fifo) return runInShellPipeline(script, options.readAfterMs ?? 0);
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const { readAfterMs, fromStderr } = options;
  let timer: NodeJS.Timeout | undefined;
  const readLater = () => (timer ??= setTimeout(() => child.stdout.resume(), readAfterMs));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
    if (readAfterMs !== undefined && fromStderr !== undefined && stderr.includes(fromStderr)) readLater();
  });
  if (readAfterMs !== undefined) {
    child.stdout.pause();
    if (fromStderr === undefined) readLater();
  }
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])));
  return { stdout, stderr, code, signal };
}

/**
 * Runs `script` with its stdout in a shell pipeline, a FIFO with a 64 KB buffer (Node's spawn gives a socket pair
 * instead), as container runtimes give; the reader starts `readAfterMs` after the shell.
 */
async function runInShellPipeline(script: string, readAfterMs: number): Promise<Run> {
  const child = spawn("sh", ["-c", `"$NODE" --input-type=module -e "$SCRIPT" | { sleep ${readAfterMs / 1000}; cat; }`], {
    env: { PATH: process.env.PATH, NODE: process.execPath, SCRIPT: script },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("close", (c, s) => resolve([c, s])));
  return { stdout, stderr, code, signal };
}

function lines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The service's stdout log (src/log-destination.ts): a line is written to the
 * pipe within the call that logs it while the pipe takes it, and what waits in
 * the buffer because the pipe was full is written at exit. pino's default
 * asynchronous writer loses lines still in its buffer at a kill or exit; a
 * blocking writer never loses one but stops the service when nothing reads
 * (test/integration/log-blocked-stdout.test.ts).
 */
describe("log destination (stdout)", () => {
  it("has written every line when the process is killed right after logging", async () => {
    const script = `
      const { createLogger } = await import("${LOG}");
      const log = createLogger({ level: "info" });
      for (let i = 0; i < 20000; i++) log.info({ i }, "line");
      process.kill(process.pid, "SIGKILL");
    `;
    const run = await runScript(script);

    expect(run.signal).toBe("SIGKILL");
    const written = lines(run.stdout);
    expect(written).toHaveLength(20000);
    expect(written.at(-1)).toMatchObject({ i: 19999, msg: "line", service: "cognito-bff" });
  }, 30_000);

  it("has written a 2 MB line whole at a SIGKILL right after logging it, although the reader paused for 10 ms: the writer waits for a reader that is late", async () => {
    const script = `
      const { createLogger } = await import("${LOG}");
      const log = createLogger({ level: "info" });
      for (let i = 0; i < 10; i++) log.info({ i }, "line");
      (await import("node:fs")).writeSync(2, "big line\\n");
      log.info({ i: 10, pad: "p".repeat(2_000_000) }, "line");
      process.kill(process.pid, "SIGKILL");
    `;
    const run = await runScript(script, { readAfterMs: 10, fromStderr: "big line" });

    expect(run.signal).toBe("SIGKILL");
    const written = lines(run.stdout);
    expect(written.map((l) => l.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(written.at(-1)?.pad).toHaveLength(2_000_000);
  }, 30_000);

  it("writes the lines buffered while the pipe was full when an uncaught exception ends the process, once the pipe is read", async () => {
    // 2000 lines of ~1 KB: more than the kernel's buffer takes, less than the log buffer.
    const script = `
      const { createLogger } = await import("${LOG}");
      const log = createLogger({ level: "info" });
      for (let i = 0; i < 2000; i++) log.info({ i, pad: "p".repeat(1000) }, "line");
      setTimeout(() => { throw new Error("boom"); }, 10);
    `;
    const run = await runScript(script, { readAfterMs: 1000 });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Error: boom");
    const written = lines(run.stdout);
    expect(written.map((l) => l.i)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
    expect(written.filter((l) => l.msg === WARNING)).toEqual([]);
  }, 30_000);

  it.each([
    ["a socket pair (Node's spawn)", { readAfterMs: 2000, fromStderr: "start" }],
    ["a FIFO (a shell pipeline)", { readAfterMs: 2000, fifo: true }],
  ])("logs on without waiting for %s nobody reads, dropping what does not fit, and at process.exit writes the buffer and the warning once it is read", async (_stdout, options) => {
    // 6000 lines of ~1 KB while nothing reads: the 4 MiB buffer takes about 4000, the rest are dropped.
    const script = `
      const { createLogger } = await import("${LOG}");
      const { droppedStdoutLogLines } = await import("${LOG_DESTINATION}");
      const log = createLogger({ level: "info" });
      process.stderr.write("start\\n");
      const started = performance.now();
      for (let i = 0; i < 6000; i++) log.info({ i, pad: "p".repeat(1000) }, "line");
      process.stderr.write("dropped=" + droppedStdoutLogLines() + " ms=" + Math.round(performance.now() - started) + "\\n");
      process.exit(0);
    `;
    const run = await runScript(script, options);

    expect(run.code).toBe(0);
    // Logging did not wait for the reader (a blocking stdout would take the 2 s until it reads).
    expect(Number(/ms=(\d+)/.exec(run.stderr)?.[1])).toBeLessThan(1000);
    const dropped = Number(/dropped=(\d+)/.exec(run.stderr)?.[1]);
    expect(dropped).toBeGreaterThan(1000);
    const written = lines(run.stdout);
    const warnings = written.filter((l) => l.msg === WARNING);
    expect(warnings).toEqual([expect.objectContaining({ level: 40, dropped, service: "cognito-bff" })]);
    expect(written.at(-1)).toBe(warnings[0]);
    // The lines kept are the first ones, in order and whole; then the gap; nothing after it was logged.
    const kept = written.filter((l) => l.msg === "line").map((l) => l.i);
    expect(kept).toEqual(Array.from({ length: 6000 - dropped }, (_, i) => i));
  }, 30_000);

  it("goes on and exits at once when the reader closes the pipe: the exit does not wait for a reader that is gone", async () => {
    const script = `
      const { createLogger } = await import("${LOG}");
      const fs = await import("node:fs");
      const log = createLogger({ level: "info" });
      log.info("first");
      fs.writeSync(2, "close it\\n");
      await new Promise((r) => setTimeout(r, 500));
      for (let i = 0; i < 2000; i++) log.info({ i, pad: "p".repeat(1000) }, "line");
      fs.writeSync(2, "logged\\n");
      process.exit(0);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let loggedAt = 0;
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      if (chunk.includes("close it")) child.stdout.destroy();
      if (chunk.includes("logged")) loggedAt = performance.now();
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));

    expect(code).toBe(0);
    expect(stderr).toContain("logged");
    // A write to a closed pipe fails with EPIPE; sonic-boom's own flushSync() retries that without end.
    expect(performance.now() - loggedAt).toBeLessThan(1000);
  }, 30_000);

  it("drops a line larger than the whole buffer, counts it and says so at once, and goes on writing", async () => {
    const script = `
      const { createLogger } = await import("${LOG}");
      const { droppedStdoutLogLines, LOG_BUFFER_BYTES } = await import("${LOG_DESTINATION}");
      const log = createLogger({ level: "info" });
      log.info("before");
      log.info({ huge: "h".repeat(LOG_BUFFER_BYTES) }, "huge");
      log.info("after");
      process.stderr.write("dropped=" + droppedStdoutLogLines() + "\\n");
    `;
    const run = await runScript(script);

    expect(run.code).toBe(0);
    expect(run.stderr).toContain("dropped=1");
    expect(lines(run.stdout).map((l) => [l.msg, l.dropped])).toEqual([
      ["before", undefined],
      [WARNING, 1],
      ["after", undefined],
    ]);
  }, 30_000);
});
