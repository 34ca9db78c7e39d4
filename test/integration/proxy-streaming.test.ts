/**
 * Large bodies pass through the relay as streams: the upstream sees the first
 * bytes of an upload before the client has sent the rest, the client sees the
 * first bytes of a download before the upstream has written the rest, and
 * memory does not grow with the body.
 */
import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { signIn, startHarness, type Harness } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;

let h: Harness | undefined;
let up: Upstream | undefined;
afterEach(async () => {
  await h?.close();
  await up?.close();
  h = up = undefined;
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

// A real collection before each sample: the peak is then what is alive (held), not garbage not yet collected.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Samples live heap + buffer memory while `work` runs; returns the peak growth in bytes. */
async function peakGrowth(work: () => Promise<void>): Promise<number> {
  const used = () => {
    // Twice: V8 frees dead ArrayBuffers' memory on a background thread after a GC, and the next GC waits for
    // that to finish. After one gc() the count still held up to 25 MB of dead chunks (a flaky failure).
    gc();
    gc();
    const m = process.memoryUsage();
    return m.arrayBuffers + m.heapUsed;
  };
  const base = used();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, used())), 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, used()) - base;
}

/** A deterministic 64 KB block, sent `count` times: the body exists only one chunk at a time. */
const block = randomBytes(CHUNK);
function expectedHash(count: number): string {
  const hash = createHash("sha256");
  for (let i = 0; i < count; i++) hash.update(block);
  return hash.digest("hex");
}

async function write(req: import("node:http").ClientRequest, chunk: Buffer): Promise<void> {
  if (!req.write(chunk)) await new Promise((resolve) => req.once("drain", resolve));
}

describe("streaming through /api", () => {
  it("a 10 MB upload reaches the upstream as a stream, intact, without memory growing with it", async () => {
    const firstBytes = deferred();
    let received = 0;
    const hash = createHash("sha256");
    up = await startUpstream(async (req, res) => {
      for await (const chunk of req) {
        received += (chunk as Buffer).length;
        hash.update(chunk as Buffer);
        firstBytes.resolve();
      }
      res.end(JSON.stringify({ received, sha256: hash.digest("hex") }));
    });
    h = await startHarness({ env: { UPSTREAMS: JSON.stringify({ files: { url: up.url, token: "user" } }) } });
    const jar = await signIn(h.bff.url);
    const chunks = (10 * MB) / CHUNK;

    let answer = "";
    let status = 0;
    const growth = await peakGrowth(async () => {
      const req = httpRequest(`${h!.bff.url}/api/files/upload`, {
        method: "PUT",
        headers: { cookie: jar.header(), "x-csrf": "1", "content-type": "application/octet-stream", "content-length": String(chunks * CHUNK) },
      });
      const response = new Promise<IncomingMessage>((resolve, reject) => req.on("response", resolve).on("error", reject));
      await write(req, block);
      // Streaming, not buffering: the upstream has bytes while the client still holds back the other 9.9 MB.
      await firstBytes.promise;
      expect(received).toBeLessThan(10 * MB);
      for (let i = 1; i < chunks; i++) await write(req, block);
      req.end();
      const res = await response;
      status = res.statusCode ?? 0;
      for await (const chunk of res) answer += String(chunk);
    });
    expect(status).toBe(200);
    expect(JSON.parse(answer)).toEqual({ received: 10 * MB, sha256: expectedHash(chunks) });
    expect(growth).toBeLessThan(8 * MB);
  });

  it("a 10 MB download reaches the client as a stream, intact, without memory growing with it", async () => {
    const clientHasFirst = deferred();
    const chunks = (10 * MB) / CHUNK;
    up = await startUpstream(async (_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(chunks * CHUNK) });
      res.write(block);
      // The rest is written only once the client has the first block: a buffering relay would deadlock here.
      await clientHasFirst.promise;
      for (let i = 1; i < chunks; i++) {
        if (!res.write(block)) await new Promise((resolve) => res.once("drain", resolve));
      }
      res.end();
    });
    h = await startHarness({ env: { UPSTREAMS: JSON.stringify({ files: { url: up.url, token: "user" } }) } });
    const jar = await signIn(h.bff.url);

    let bytes = 0;
    const hash = createHash("sha256");
    const growth = await peakGrowth(async () => {
      const res = await fetch(`${h!.bff.url}/api/files/download`, { headers: { cookie: jar.header(), "x-csrf": "1" } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-length")).toBe(String(10 * MB));
      for await (const chunk of res.body!) {
        bytes += chunk.length;
        hash.update(chunk);
        clientHasFirst.resolve();
      }
    });
    expect(bytes).toBe(10 * MB);
    expect(hash.digest("hex")).toBe(expectedHash(chunks));
    expect(growth).toBeLessThan(8 * MB);
  });
});
