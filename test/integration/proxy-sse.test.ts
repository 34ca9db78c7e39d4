/**
 * Server-Sent Events through the relay: a `text/event-stream` answer reaches
 * the client event by event, as the upstream writes it (no buffering, no
 * compression, no Nagle delay), and a client that leaves ends the upstream's
 * stream.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { signIn, startHarness, type Harness } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

let h: Harness | undefined;
let up: Upstream | undefined;
afterEach(async () => {
  await h?.close();
  await up?.close();
  h = up = undefined;
});

/** Wall-clock milliseconds with sub-millisecond precision; the upstream and the client share this process's clock. */
const now = () => performance.timeOrigin + performance.now();
const EVENTS = 12;
const INTERVAL_MS = 100;

/** An upstream that sends an event carrying its send time every 100 ms, and notes when its stream is closed early. */
async function eventSource(): Promise<{ upstream: Upstream; stopped: () => boolean }> {
  let stopped = false;
  const upstream = await startUpstream((req, res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.flushHeaders();
    let sent = 0;
    const timer = setInterval(() => {
      res.write(`id: ${sent}\nevent: tick\ndata: {"sentAt":${now()}}\n\n`);
      if (++sent === EVENTS) {
        clearInterval(timer);
        res.end();
      }
    }, INTERVAL_MS);
    res.once("close", () => {
      if (sent < EVENTS) stopped = true;
      clearInterval(timer);
    });
  });
  return { upstream, stopped: () => stopped };
}

function openStream(url: string, cookie: string): Promise<{ res: IncomingMessage; destroy: () => void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { cookie, "x-csrf": "1", accept: "text/event-stream" } }, (res) => resolve({ res, destroy: () => req.destroy() }));
    req.on("error", reject).end();
  });
}

/** Calls `onEvent` with each complete event (text up to a blank line) as it arrives. */
function readEvents(res: IncomingMessage, onEvent: (event: string) => void): Promise<void> {
  let buffer = "";
  res.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      onEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  });
  return new Promise((resolve, reject) => res.once("end", resolve).once("error", reject));
}

describe("Server-Sent Events through /api", () => {
  it("every event reaches the client within 50 ms of the upstream sending it, as it was sent", async () => {
    const source = await eventSource();
    up = source.upstream;
    h = await startHarness({ env: { UPSTREAMS: JSON.stringify({ events: { url: up.url, token: "user" } }) } });
    const jar = await signIn(h.bff.url);

    const { res } = await openStream(`${h.bff.url}/api/events/stream`, jar.header());
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expect(res.headers["content-encoding"]).toBeUndefined();
    const delays: number[] = [];
    const ids: string[] = [];
    await readEvents(res, (event) => {
      const sentAt = (JSON.parse(/^data: (.*)$/m.exec(event)![1]!) as { sentAt: number }).sentAt;
      delays.push(now() - sentAt);
      ids.push(/^id: (\d+)$/m.exec(event)![1]!);
    });
    expect(ids).toEqual(Array.from({ length: EVENTS }, (_, i) => String(i)));
    // A relay that buffered the answer would deliver the first event about 1.1 s late.
    expect(Math.max(...delays)).toBeLessThan(50);
  });

  it("a client that disconnects ends the upstream's stream", async () => {
    const source = await eventSource();
    up = source.upstream;
    h = await startHarness({ env: { UPSTREAMS: JSON.stringify({ events: { url: up.url, token: "user" } }) } });
    const jar = await signIn(h.bff.url);

    const { res, destroy } = await openStream(`${h.bff.url}/api/events/stream`, jar.header());
    let received = 0;
    void readEvents(res, () => {
      if (++received === 2) destroy();
    }).catch(() => undefined);
    await expect.poll(() => source.stopped(), { timeout: 2000 }).toBe(true);
    expect(up.seen[0]!.aborted).toBe(true);
    expect(received).toBe(2);
  });
});
