/**
 * The real server (`src/cli.ts`, the `cognito-bff` command, in a child
 * process) whose stdout pipe nobody reads: it keeps answering, holds at most
 * its 4 MiB log buffer, drops and counts the lines beyond it, and once the pipe
 * is read again writes the buffer, one warning with the number dropped, and new
 * lines. Then SIGTERM with lines buffered: they are written before the exit.
 *
 * Blocking the pipe: the child's stdout is read until the server listens, then
 * paused; the parent stops reading once its stream buffer is full, the kernel
 * buffer fills, and the child's writes fail with EAGAIN.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { LOG_BUFFER_BYTES } from "../../src/log-destination.js";
import { CLIENT_ID, CLIENT_SECRET, freePort, serverEnv, USER } from "../helpers/harness.js";

const root = new URL("../../", import.meta.url);
const WARNING = "log lines dropped while stdout was blocked";
const REQUESTS = 3000;

let emu: Emulator;
const children: ChildProcess[] = [];

beforeAll(async () => {
  emu = await startEmulator({ users: [{ ...USER, emailVerified: true }] });
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
afterAll(async () => {
  await emu?.close();
});

interface Server {
  child: ChildProcess;
  url: string;
  /** Everything read from the child's stdout so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

async function startServer(): Promise<Server> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [`${url}/`] });
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...serverEnv(emu, url) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await waitFor(() => out.includes('"msg":"listening"'), 15_000, () => `server did not start:\n${out}\n${err}`);
  return { child, url, stdout: () => out, stderr: () => err, exited };
}

async function waitFor(done: () => boolean, ms: number, message: () => string): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error(message());
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface LoadResult {
  statuses: Map<number, number>;
  failures: string[];
}

/** `count` GETs of `path(i)`, 16 at a time, each with X-Request-Id `${prefix}-${i}` and a 5 s timeout; stops after 16 failures. */
async function load(url: string, count: number, prefix: string, path: (i: number) => string): Promise<LoadResult> {
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      // A server that stopped answering fails 16 requests, then the rest is not sent (each would wait 5 s).
      for (let i = next++; i < count && failures.length < 16; i = next++) {
        try {
          const response = await fetch(`${url}${path(i)}`, { headers: { "x-request-id": `${prefix}-${i}` }, signal: AbortSignal.timeout(5000) });
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        } catch (error) {
          failures.push(`${prefix}-${i}: ${String((error as Error).name)}`);
        }
      }
    }),
  );
  return { statuses, failures };
}

async function metric(url: string, name: string, requestId: string): Promise<number> {
  const body = await (await fetch(`${url}/metrics`, { headers: { "x-request-id": requestId }, signal: AbortSignal.timeout(5000) })).text();
  const line = body.split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} missing from /metrics`);
  return Number(line.split(" ")[1]);
}

function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("a stdout pipe that nobody reads", () => {
  it("does not stop the server: 3000 requests are answered, memory stays within the log buffer, drops are counted and reported once with the same count", async () => {
    const server = await startServer();
    const { url } = server;
    // Warm up with the pipe read, so the baseline memory includes a served load.
    const warm = await load(url, 300, "warm", () => `/not-here/${"w".repeat(12_000)}`);
    expect(warm.failures).toEqual([]);
    const droppedBefore = await metric(url, "bff_log_dropped_lines_total", "before");
    const rssBefore = await metric(url, "process_resident_memory_bytes", "rss-before");

    server.child.stdout!.pause();
    // 3000 lines of ~14 KB: ~42 MB of log, ten times the buffer. A 404 logs its path.
    const blocked = await load(url, REQUESTS, "blocked", () => `/not-here/${"x".repeat(14_000)}`);
    expect(blocked.failures).toEqual([]);
    const droppedWhileBlocked = await metric(url, "bff_log_dropped_lines_total", "during");
    const rssBlocked = await metric(url, "process_resident_memory_bytes", "rss-during");

    expect([...blocked.statuses]).toEqual([[404, REQUESTS]]);
    expect(droppedWhileBlocked - droppedBefore).toBeGreaterThan(REQUESTS / 2);
    // The buffer holds at most 4 MiB of lines; keeping all 42 MB would show here (measured: +51 MiB with an
    // unbounded buffer, +19 to +26 MiB with this one: serving the requests grows the heap too).
    const grownMiB = (rssBlocked - rssBefore) / 2 ** 20;
    expect(grownMiB).toBeLessThan(LOG_BUFFER_BYTES / 2 ** 20 + 36);

    const readBefore = server.stdout().length;
    server.child.stdout!.resume();
    await waitFor(() => server.stdout().includes(WARNING), 10_000, () => "no warning after the pipe was read again");
    const droppedAfter = await metric(url, "bff_log_dropped_lines_total", "after");
    const after = await fetch(`${url}/healthz`, { headers: { "x-request-id": "after-drain" } });
    expect(after.status).toBe(200);
    await waitFor(() => server.stdout().includes('"reqId":"after-drain"'), 5000, () => "no line for a request after the drain");

    const lines = jsonLines(server.stdout()); // every line whole: partial writes were continued, not cut
    const warnings = lines.filter((l) => l.msg === WARNING);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, service: "cognito-bff", dropped: droppedAfter - droppedBefore });
    expect(droppedAfter).toBeGreaterThanOrEqual(droppedWhileBlocked);
    // Every line of the blocked phase was either written or counted as dropped.
    const writtenLines = server
      .stdout()
      .split("\n")
      .filter((line) => /"reqId":"(blocked-\d+|during|rss-during)"/.test(line));
    const written = writtenLines.length;
    expect(written + (droppedAfter - droppedBefore)).toBe(REQUESTS + 2);
    // What was written of them is what the buffer held, plus what the kernel's socket buffer and this side's stream buffer took.
    const writtenBytes = writtenLines.reduce((sum, line) => sum + line.length + 1, 0);
    expect(writtenBytes).toBeLessThan(LOG_BUFFER_BYTES + 2 ** 20);
    expect(server.stdout().length).toBeGreaterThan(readBefore);
  }, 120_000);

  it("has its buffered lines written at SIGTERM once the pipe is read again: the exit waits for the reader", async () => {
    const server = await startServer();
    server.child.stdout!.pause();
    // 300 lines of ~2 KB: more than the kernel's socket buffer holds, well under the log buffer.
    const answered = await load(server.url, 300, "term", () => `/not-here/${"t".repeat(2000)}`);
    expect(answered.failures).toEqual([]);
    expect(server.stdout()).not.toContain('"reqId":"term-299"');

    server.child.kill("SIGTERM");
    // The shutdown takes ~1 s (idle keep-alive grace); then the exit waits up to 3 s for the reader.
    await new Promise((r) => setTimeout(r, 2500));
    expect(server.child.exitCode).toBeNull();
    server.child.stdout!.resume();
    expect(await server.exited).toBe(0);

    const lines = jsonLines(server.stdout());
    const ids = new Set(lines.map((l) => l.reqId));
    const missing = Array.from({ length: 300 }, (_, i) => `term-${i}`).filter((id) => !ids.has(id));
    expect(missing).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(["shutting down", "stopped"]));
    expect(lines.filter((l) => l.msg === WARNING)).toEqual([]);
  }, 60_000);
});
