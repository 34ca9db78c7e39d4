/**
 * The WebSocket relay's socket work (src/proxy/websocket.ts) on real loopback sockets, without the app: the upgrade
 * listener, the upstream handshake, the 101 head and the splice of two sockets. The route and the app around them
 * are in test/integration/proxy-websocket.test.ts.
 */
import { createServer as createHttpServer, IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { duplexPair, type Duplex } from "node:stream";
import { once } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BffError } from "../../src/errors.js";
import {
  createUpgradeListener,
  openUpstreamWebSocket,
  singleOrigin,
  spliceSockets,
  writeSwitchingProtocols,
  type UpstreamHandshakeRequest,
} from "../../src/proxy/websocket.js";

const SWITCHING = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
/** More than the loopback's kernel buffers hold, so part of it stays queued in the BFF's socket. */
const BIG = 32 * 1024 * 1024;

const cleanups: (() => void)[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/**
 * A connected pair of TCP sockets: `near` is the BFF's end, `far` the peer's. The accepted end keeps its half open
 * (as Node's HTTP server does, and as a peer that waits for the BFF's FIN); the connecting end as `halfOpen` says
 * (Node's HTTP client does not).
 */
async function tcpPair(options: { nearAccepts?: boolean; halfOpen?: boolean } = {}): Promise<{ near: Socket; far: Socket }> {
  const { nearAccepts = true, halfOpen = false } = options;
  const server: Server = createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const connecting = connect({ port: (server.address() as AddressInfo).port, host: "127.0.0.1", allowHalfOpen: halfOpen });
  const [[serverSide]] = await Promise.all([accepted, once(connecting, "connect")]);
  server.close();
  const pair = nearAccepts ? { near: serverSide, far: connecting } : { near: connecting, far: serverSide };
  for (const socket of [pair.near, pair.far]) socket.on("error", () => undefined);
  cleanups.push(() => {
    pair.near.destroy();
    pair.far.destroy();
  });
  return pair;
}

/** Resolves true once `socket` has closed, false after `ms` (a real timer: fake ones are never advanced here). */
function closesWithin(socket: Duplex, ms: number): Promise<boolean> {
  if (socket.closed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = realTimers.setTimeout(() => resolve(false), ms);
    socket.once("close", () => {
      realTimers.clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Resolves true once the peer of `socket` has ended or dropped the connection, false after `ms`. */
function peerLeavesWithin(socket: Duplex, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = realTimers.setTimeout(() => resolve(false), ms);
    const left = () => {
      realTimers.clearTimeout(timer);
      resolve(true);
    };
    socket.once("end", left).once("close", left).resume();
  });
}

/** The real timer functions, kept before a test fakes the global ones. */
const realTimers = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };

/** Counts the bytes `socket` receives until its peer's FIN or its close. */
function countBytes(socket: Socket): { total: () => number; done: Promise<void> } {
  let total = 0;
  socket.on("data", (chunk: Buffer) => void (total += chunk.length));
  const done = new Promise<void>((resolve) => {
    socket.once("end", resolve);
    socket.once("close", resolve);
  });
  return { total: () => total, done };
}

/** An HTTP server whose upgrade requests are handed to the test. */
async function upstreamServer(host = "127.0.0.1"): Promise<{ url: URL; upgrades: Duplex[]; nextUpgrade: () => Promise<Duplex> }> {
  const server: HttpServer = createHttpServer((_req, res) => res.writeHead(426).end());
  const upgrades: Duplex[] = [];
  server.on("upgrade", (_req, socket: Duplex) => {
    socket.on("error", () => undefined);
    upgrades.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  cleanups.push(() => {
    for (const socket of upgrades) socket.destroy();
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: new URL(`http://${host.includes(":") ? `[${host}]` : host}:${port}`),
    upgrades,
    nextUpgrade: async () => ((await once(server, "upgrade")) as [IncomingMessage, Duplex])[1],
  };
}

async function handshakeTo(url: URL, overrides: Partial<UpstreamHandshakeRequest> = {}) {
  const client = await tcpPair();
  const target: UpstreamHandshakeRequest = {
    url,
    path: "/socket",
    headers: {},
    timeoutMs: 2000,
    upstreamName: "echo",
    client: client.near,
    clientHead: Buffer.alloc(0),
    ...overrides,
  };
  return { client, target };
}

describe("createUpgradeListener", () => {
  it("an error on the upgrade socket destroys it instead of being thrown", async () => {
    const { near } = await tcpPair();
    near.removeAllListeners("error");
    createUpgradeListener(() => undefined)(new IncomingMessage(near), near, Buffer.alloc(0));

    expect(() => near.emit("error", new Error("read ECONNRESET"))).not.toThrow();
    expect(near.destroyed).toBe(true);
  });

  it("the app's answer is written on the socket, then the response lets go of it and the connection ends", async () => {
    const { near, far } = await tcpPair();
    let response: ServerResponse | undefined;
    createUpgradeListener((_req, res) => {
      response = res;
      res.statusCode = 404;
      res.setHeader("content-type", "text/plain");
      res.end("no such route");
    })(Object.assign(new IncomingMessage(near), { method: "GET", url: "/", httpVersionMajor: 1, httpVersionMinor: 1 }), near, Buffer.alloc(0));

    const chunks: Buffer[] = [];
    far.on("data", (chunk: Buffer) => chunks.push(chunk));
    await once(far, "end");
    const answer = Buffer.concat(chunks).toString();
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer.endsWith("no such route")).toBe(true);
    expect(response?.writableFinished).toBe(true);
    expect(response?.socket).toBeNull();
  });
});

describe("singleOrigin", () => {
  const withRawHeaders = (rawHeaders: string[]) => ({ rawHeaders }) as unknown as IncomingMessage;

  it("a second Origin, in any case, gives no origin at all", () => {
    expect(singleOrigin(withRawHeaders(["Origin", "https://spa.example", "origin", "https://evil.example"]))).toBeUndefined();
    expect(singleOrigin(withRawHeaders(["Host", "bff", "ORIGIN", "https://spa.example"]))).toBe("https://spa.example");
  });
});

describe("openUpstreamWebSocket", () => {
  it("bytes the client sends while the upstream is asked come with the upgrade, after the head's, and nothing of the handshake stays on the client's socket", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const upstream = await upstreamServer();
    const { client, target } = await handshakeTo(upstream.url, { clientHead: Buffer.from("first ") });
    const before = { close: client.near.listenerCount("close"), end: client.near.listenerCount("end"), data: client.near.listenerCount("data") };
    const reached = upstream.nextUpgrade();
    const handshake = openUpstreamWebSocket(target);
    const upstreamSocket = await reached;

    const received = once(client.near, "data");
    client.far.write("second");
    await received;
    upstreamSocket.write(SWITCHING);
    const outcome = await handshake;

    expect(outcome.kind).toBe("upgraded");
    if (outcome.kind !== "upgraded") return;
    expect(outcome.clientHead.toString()).toBe("first second");
    expect(outcome.response.statusCode).toBe(101);
    expect(client.near.isPaused()).toBe(true);
    expect({ close: client.near.listenerCount("close"), end: client.near.listenerCount("end"), data: client.near.listenerCount("data") }).toEqual(before);
    // The deadline is cleared: an upgraded handshake leaves no timer behind.
    expect(vi.getTimerCount()).toBe(0);
    outcome.socket.destroy();
  });

  it("a client that resets its connection during the handshake abandons it", async () => {
    const upstream = await upstreamServer();
    const { client, target } = await handshakeTo(upstream.url);
    const reached = upstream.nextUpgrade();
    const handshake = openUpstreamWebSocket(target);
    const upstreamSocket = await reached;

    client.far.resetAndDestroy();

    await expect(handshake).resolves.toEqual({ kind: "client_closed" });
    expect(await peerLeavesWithin(upstreamSocket, 1000)).toBe(true);
  });

  it("an upstream that does not answer in time is a gateway_timeout naming the upstream and the deadline, and its connection is closed", async () => {
    const upstream = await upstreamServer();
    const { target } = await handshakeTo(upstream.url, { timeoutMs: 100 });
    const reached = upstream.nextUpgrade();
    const handshake = openUpstreamWebSocket(target);
    const upstreamSocket = await reached;

    const error = await handshake.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BffError);
    expect((error as BffError).code).toBe("gateway_timeout");
    expect((error as BffError).logDetail).toBe("upstream echo: no answer to the WebSocket handshake within 100 ms");
    expect(await peerLeavesWithin(upstreamSocket, 1000)).toBe(true);
  });

  it("an https upstream is spoken to over TLS: a plain HTTP server behind an https URL is a bad_gateway", async () => {
    const upstream = await upstreamServer();
    const url = new URL(upstream.url);
    url.protocol = "https:";
    // A plain-HTTP handshake would be answered 101 at once.
    void upstream.nextUpgrade().then((socket) => socket.write(SWITCHING));
    const { target } = await handshakeTo(url);

    await expect(openUpstreamWebSocket(target)).rejects.toMatchObject({ code: "bad_gateway" });
  });

  it("an IPv6 upstream is reached at its address", async () => {
    const upstream = await upstreamServer("::1");
    expect(upstream.url.hostname).toBe("[::1]");
    void upstream.nextUpgrade().then((socket) => socket.write(SWITCHING));
    const { target } = await handshakeTo(upstream.url);

    const outcome = await openUpstreamWebSocket(target);
    expect(outcome.kind).toBe("upgraded");
    if (outcome.kind === "upgraded") outcome.socket.destroy();
  });
});

describe("writeSwitchingProtocols", () => {
  it("a header value with CR or LF is left out of the 101; the others, repeated and numeric ones included, are written, then the upstream's bytes", () => {
    const [client, far] = duplexPair();
    const chunks: Buffer[] = [];
    far.on("data", (chunk: Buffer) => chunks.push(Buffer.from(chunk)));

    writeSwitchingProtocols(
      client,
      { "sec-websocket-accept": "abc=", "x-evil": "a\r\nset-cookie: stolen=1", "set-cookie": ["a=1", "b=2\nc=3"], "x-count": 2 },
      Buffer.from("frame"),
    );

    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(Buffer.concat(chunks).toString()).toBe(
          "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nsec-websocket-accept: abc=\r\nset-cookie: a=1\r\nx-count: 2\r\n\r\nframe",
        );
        resolve();
      }),
    );
  });
});

describe("spliceSockets", () => {
  it("splices any duplex streams, not only TCP sockets, both ways", async () => {
    const [client, clientFar] = duplexPair();
    const [upstream, upstreamFar] = duplexPair();
    const ended = spliceSockets(client, upstream, Buffer.from("early "));
    const toUpstream: Buffer[] = [];
    const toClient: Buffer[] = [];
    upstreamFar.on("data", (chunk: Buffer) => toUpstream.push(Buffer.from(chunk)));
    clientFar.on("data", (chunk: Buffer) => toClient.push(Buffer.from(chunk)));

    clientFar.write("ping");
    upstreamFar.write("pong");
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(toUpstream).toString()).toBe("early ping");
    expect(Buffer.concat(toClient).toString()).toBe("pong");
    client.destroy();
    upstream.destroy();
    await expect(ended).resolves.toBe("client_closed");
  });

  it("an established tunnel has no idle timeout and Nagle's delay is off on both sockets", async () => {
    const client = await tcpPair();
    const upstream = await tcpPair({ nearAccepts: false });
    const timeouts: string[] = [];
    client.near.setTimeout(30, () => timeouts.push("client"));
    upstream.near.setTimeout(30, () => timeouts.push("upstream"));
    const noDelay = [vi.spyOn(client.near, "setNoDelay"), vi.spyOn(upstream.near, "setNoDelay")];

    void spliceSockets(client.near, upstream.near, Buffer.alloc(0));
    await new Promise((resolve) => setTimeout(resolve, 150));

    expect(timeouts).toEqual([]);
    for (const spy of noDelay) expect(spy).toHaveBeenLastCalledWith(true);
  });

  it("an error on either socket destroys that socket", async () => {
    const client = await tcpPair();
    const upstream = await tcpPair({ nearAccepts: false });
    for (const socket of [client.near, upstream.near]) socket.removeAllListeners("error");
    void spliceSockets(client.near, upstream.near, Buffer.alloc(0));

    expect(() => client.near.emit("error", new Error("read ECONNRESET"))).not.toThrow();
    expect(() => upstream.near.emit("error", new Error("write EPIPE"))).not.toThrow();
    expect(client.near.destroyed).toBe(true);
    expect(upstream.near.destroyed).toBe(true);
  });

  it("a client's orderly close flushes all that is queued to the upstream, then closes it without waiting for the upstream's FIN nor any timer", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const client = await tcpPair();
    // The upstream's peer keeps its half open: only the BFF's close ends that connection.
    const upstream = await tcpPair({ nearAccepts: false });
    upstream.far.pause();
    const ended = spliceSockets(client.near, upstream.near, Buffer.alloc(0));
    upstream.near.write(Buffer.alloc(BIG, 1));

    const closedAtEnd = ended.then((side) => ({ side, client: client.near.closed, upstream: upstream.near.closed }));
    client.far.end();
    const bytes = countBytes(upstream.far);
    upstream.far.resume();

    expect(await closesWithin(upstream.near, 5000)).toBe(true);
    await bytes.done;
    expect(bytes.total()).toBe(BIG);
    expect(await closedAtEnd).toEqual({ side: "client_closed", client: true, upstream: true });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a client's reset destroys the upstream's socket at once, dropping what is still queued for it, and leaves no timer", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const client = await tcpPair();
    const upstream = await tcpPair({ nearAccepts: false });
    upstream.far.pause();
    const ended = spliceSockets(client.near, upstream.near, Buffer.alloc(0));
    upstream.near.write(Buffer.alloc(BIG, 1));

    const closedAtEnd = ended.then((side) => ({ side, client: client.near.closed, upstream: upstream.near.closed }));
    client.far.resetAndDestroy();

    expect(await closesWithin(upstream.near, 2000)).toBe(true);
    expect(await closedAtEnd).toEqual({ side: "client_closed", client: true, upstream: true });
    const bytes = countBytes(upstream.far);
    upstream.far.resume();
    await bytes.done;
    expect(bytes.total()).toBeLessThan(BIG);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a client's orderly close does not wait more than the grace period for an upstream that does not read", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const client = await tcpPair();
    const upstream = await tcpPair({ nearAccepts: false });
    upstream.far.pause();
    void spliceSockets(client.near, upstream.near, Buffer.alloc(0));
    upstream.near.write(Buffer.alloc(BIG, 1));

    client.far.end();
    await closesWithin(client.near, 2000);
    expect(upstream.near.destroyed).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(upstream.near.destroyed).toBe(true);
  });

  it("a client socket the BFF destroys (a shutdown) ends the upstream's connection at once, with a FIN and without a timer", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const client = await tcpPair();
    const upstream = await tcpPair({ nearAccepts: false });
    const ended = spliceSockets(client.near, upstream.near, Buffer.alloc(0));
    const upstreamPeerEnded = once(upstream.far, "end");
    upstream.far.resume();

    client.near.destroy();

    expect(await closesWithin(upstream.near, 2000)).toBe(true);
    await upstreamPeerEnded;
    await expect(ended).resolves.toBe("client_closed");
  });

  it("an upstream's FIN closes the tunnel even when both sockets allow a half-open connection and the client never sends its FIN", async () => {
    const client = await tcpPair({ halfOpen: true });
    const upstream = await tcpPair({ nearAccepts: false, halfOpen: true });
    const ended = spliceSockets(client.near, upstream.near, Buffer.alloc(0));
    client.far.resume();
    upstream.far.resume();

    upstream.far.end();

    expect(await closesWithin(upstream.near, 2000)).toBe(true);
    await expect(ended).resolves.toBe("upstream_closed");
  });
});
