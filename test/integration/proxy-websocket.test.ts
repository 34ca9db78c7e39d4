/**
 * WebSockets through the relay: `GET /api/{upstream}/...` with `Upgrade:
 * websocket`, through real HTTP servers (the emulator, the BFF, a `ws`
 * WebSocket server as the upstream) with `ws` clients and raw sockets.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from "node:net";
import { once } from "node:events";
import { decodeJwt } from "jose";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { checkResponse } from "../contract/openapi-contract.js";
import { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, freePort, serverEnv, signIn, startHarness, USER, type Harness } from "../helpers/harness.js";
import { startServer, trackConnections, type RunningServer } from "../../src/server.js";
import { createBff } from "../../src/embed.js";

interface WsUpstream {
  url: string;
  /** Every upgrade request that reached the upstream (answered or not). */
  seen: { url: string; headers: IncomingHttpHeaders }[];
  wss: WebSocketServer;
  /** What to do with an upgrade request: default accept (and echo). */
  onUpgrade: (accept: () => void, socket: import("node:stream").Duplex) => void;
  close(): Promise<void>;
}

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

/** A `ws` server that records each upgrade request and echoes every message. */
async function wsUpstream(): Promise<WsUpstream> {
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  const sockets = new Set<import("node:stream").Duplex>();
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has("chat") ? "chat" : false) });
  const upstream: WsUpstream = {
    url: "",
    seen: [],
    wss,
    onUpgrade: (accept) => accept(),
    close: async () => {
      for (const client of wss.clients) client.terminate();
      // Upgrade sockets are no longer the HTTP server's: a handshake left unanswered is closed here.
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    sockets.add(socket);
    upstream.seen.push({ url: req.url ?? "", headers: req.headers });
    upstream.onUpgrade(() => wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req)), socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(upstream.close);
  return upstream;
}

async function harness(routes: Record<string, unknown>, env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ env: { UPSTREAMS: JSON.stringify(routes), ALLOWED_ORIGINS: "https://spa.example", ...env } });
  closers.push(() => h.close());
  return h;
}

const wsUrl = (httpUrl: string, path: string) => `${httpUrl.replace(/^http/, "ws")}${path}`;

/** A `ws` client with the jar's cookies and an Origin; resolves once open (or rejects with the refusal). */
async function openClient(url: string, jar: CookieJar, origin: string, protocols?: string[]): Promise<{ ws: WebSocket; response: import("node:http").IncomingMessage }> {
  const ws = new WebSocket(url, protocols, { headers: { cookie: jar.header() }, origin });
  closers.push(async () => ws.terminate());
  const opened = once(ws, "open");
  const response = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
    ws.once("upgrade", resolve);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once("error", reject);
  });
  await opened;
  return { ws, response };
}

const nextMessage = (ws: WebSocket) => once(ws, "message").then(([data, isBinary]) => ({ data: data as Buffer, isBinary: isBinary as boolean }));

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Sends `head` (request line and headers, without the final CRLF) on a raw socket and reads until the BFF closes. */
async function rawUpgrade(base: string, head: string): Promise<RawAnswer> {
  const { port } = new URL(base);
  const socket = connect(Number(port), "127.0.0.1");
  closers.push(async () => socket.destroy());
  socket.write(`${head}\r\n\r\n`);
  let text = "";
  socket.setEncoding("latin1").on("data", (chunk: string) => (text += chunk));
  await once(socket, "close");
  const split = text.indexOf("\r\n\r\n");
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), head: text.slice(0, split), body: text.slice(split + 4) };
}

function upgradeHead(path: string, headers: Record<string, string | undefined>, method = "GET"): string {
  const base: Record<string, string | undefined> = {
    Host: "bff.test",
    Connection: "Upgrade",
    Upgrade: "websocket",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    Origin: "https://spa.example",
    ...headers,
  };
  const lines = Object.entries(base).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}`);
  return [`${method} ${path} HTTP/1.1`, ...lines].join("\r\n");
}

/** A Response for the contract helper, from a raw answer. */
function asResponse(answer: RawAnswer): Response {
  const headers = new Headers();
  for (const line of answer.head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return new Response(answer.body, { status: answer.status, headers });
}

describe("a relayed WebSocket", () => {
  it("reaches the upstream under its base path with the user's bearer token and the user's own cookies, never the BFF's", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: `${up.url}/v2`, token: "user" } });
    const jar = await signIn(h.bff.url);
    const { access_token } = (await (await callToken(jar, h.bff.url)).json()) as { access_token: string };
    jar.cookies.set("theme", "dark");

    const { ws, response } = await openClient(wsUrl(h.bff.url, "/api/live/feed?room=7"), jar, "https://spa.example", ["chat"]);
    expect(response.statusCode).toBe(101);
    expect(ws.protocol).toBe("chat");
    ws.send("hello");
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from("hello"), isBinary: false });
    ws.send(Buffer.from([0, 1, 2, 255]));
    expect(await nextMessage(ws)).toEqual({ data: Buffer.from([0, 1, 2, 255]), isBinary: true });

    expect(up.seen).toHaveLength(1);
    const seen = up.seen[0]!;
    expect(seen.url).toBe("/v2/feed?room=7");
    expect(seen.headers.authorization).toBe(`Bearer ${access_token}`);
    expect(seen.headers.cookie).toBe("theme=dark");
    expect(JSON.stringify(seen.headers)).not.toContain("authjs");
    expect(seen.headers["x-forwarded-host"]).toBe(new URL(h.bff.url).host);
    expect(seen.headers["x-request-id"]).toBe(response.headers["x-request-id"]);
    // The 101 carries the BFF's own security headers, not a session cookie (none was due).
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.headers["set-cookie"]).toBeUndefined();
    const logs = h.bff.logs.join("\n");
    expect(logs).not.toContain(access_token);
    expect(logs).toMatch(/"path":"\/api\/live\/feed","status":101/);
  });

  it("passes close codes both ways", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);

    const fromClient = await openClient(wsUrl(h.bff.url, "/api/live/a"), jar, "https://spa.example");
    const [upstreamSide] = [...up.wss.clients];
    const upstreamClosed = once(upstreamSide!, "close");
    fromClient.ws.close(4001, "client bye");
    const [code, reason] = await upstreamClosed;
    expect([code, String(reason)]).toEqual([4001, "client bye"]);

    const fromUpstream = await openClient(wsUrl(h.bff.url, "/api/live/b"), jar, "https://spa.example");
    const clientClosed = once(fromUpstream.ws, "close");
    [...up.wss.clients].find((c) => c !== upstreamSide)!.close(4002, "upstream bye");
    const [code2, reason2] = await clientClosed;
    expect([code2, String(reason2)]).toEqual([4002, "upstream bye"]);
  });

  it("an upstream that drops its TCP connection mid-stream drops the client's, and a client that vanishes drops the upstream's", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);

    const a = await openClient(wsUrl(h.bff.url, "/api/live/a"), jar, "https://spa.example");
    const clientClosed = once(a.ws, "close");
    [...up.wss.clients][0]!.terminate();
    expect((await clientClosed)[0]).toBe(1006);

    const b = await openClient(wsUrl(h.bff.url, "/api/live/b"), jar, "https://spa.example");
    const upstreamSide = [...up.wss.clients].find((c) => c.readyState === WebSocket.OPEN)!;
    const upstreamClosed = once(upstreamSide, "close");
    b.ws.terminate();
    expect((await upstreamClosed)[0]).toBe(1006);
  });

  it("an expired token is refreshed before the handshake; the 101 carries the new session cookie and the upstream the new token", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const before = (await (await callToken(jar, h.bff.url)).json()) as { access_token: string };
    h.emu.clock.advance(3600);

    const { response } = await openClient(wsUrl(h.bff.url, "/api/live/x"), jar, "https://spa.example");
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    const bearer = up.seen[0]!.headers.authorization!;
    expect(bearer).not.toBe(`Bearer ${before.access_token}`);
    expect(decodeJwt(bearer.slice(7))).toMatchObject({ username: USER.username });
    const setCookie = ([] as string[]).concat(response.headers["set-cookie"] ?? []);
    expect(setCookie.some((c) => c.startsWith("authjs.session-token"))).toBe(true);
    expect(response.headers["cache-control"]).toBe("no-store");
    // The cookie of the 101 is the refreshed session: /token answers with the token the upstream got, without a refresh.
    const after = new CookieJar();
    for (const [name, value] of jar.cookies) after.cookies.set(name, value);
    after.store(new Response(null, { headers: setCookie.map((c) => ["set-cookie", c] as [string, string]) }));
    const token = (await (await callToken(after, h.bff.url)).json()) as { access_token: string };
    expect(`Bearer ${token.access_token}`).toBe(bearer);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
  });

  it("counts handshakes by upstream and answer class, and open WebSockets", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const { ws } = await openClient(wsUrl(h.bff.url, "/api/live/x"), jar, "https://spa.example");
    const metrics = () => h.bff.bff.metrics.registry.metrics();
    expect(await metrics()).toContain('bff_websockets_open{upstream="live"} 1');
    expect(await metrics()).toContain('bff_upstream_requests_total{upstream="live",status_class="1xx"} 1');
    ws.close(1000);
    await once(ws, "close");
    await expect.poll(metrics).toContain('bff_websockets_open{upstream="live"} 0');
  });
});

describe("refused upgrades: an HTTP answer on the socket, and the upstream sees nothing", () => {
  it("refuses a foreign, missing or doubled Origin, no session, another method or protocol, a .. path, an unknown upstream and a group rule not met", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" }, staff: { url: up.url, token: "user", groups: ["staff"] } });
    const jar = await signIn(h.bff.url);
    const cookie = jar.header();
    const cases: [string, string, number, string][] = [
      ["foreign Origin", upgradeHead("/api/live/x", { Cookie: cookie, Origin: "https://evil.example" }), 403, "origin_not_allowed"],
      ["no Origin", upgradeHead("/api/live/x", { Cookie: cookie, Origin: undefined }), 403, "origin_not_allowed"],
      ["two Origins", upgradeHead("/api/live/x", { Cookie: cookie }) + "\r\nOrigin: https://evil.example", 403, "origin_not_allowed"],
      ["Origin null", upgradeHead("/api/live/x", { Cookie: cookie, Origin: "null" }), 403, "origin_not_allowed"],
      ["no session", upgradeHead("/api/live/x", {}), 401, "unauthenticated"],
      ["POST", upgradeHead("/api/live/x", { Cookie: cookie }, "POST"), 405, "method_not_allowed"],
      ["h2c", upgradeHead("/api/live/x", { Cookie: cookie, Upgrade: "h2c" }), 400, "invalid_request"],
      ["two protocols", upgradeHead("/api/live/x", { Cookie: cookie, Upgrade: "websocket, h2c" }), 400, "invalid_request"],
      ["dot segment", upgradeHead("/api/live/a/%2e%2e/admin", { Cookie: cookie }), 400, "invalid_request"],
      ["a body", upgradeHead("/api/live/x", { Cookie: cookie, "Content-Length": "5" }) + "\r\n\r\nhello", 400, "invalid_request"],
      ["unknown upstream", upgradeHead("/api/nope/x", { Cookie: cookie }), 404, "not_found"],
      ["group rule", upgradeHead("/api/staff/x", { Cookie: cookie }), 403, "insufficient_group"],
    ];
    for (const [name, head, status, code] of cases) {
      const answer = await rawUpgrade(h.bff.url, head);
      expect(answer.status, name).toBe(status);
      expect(JSON.parse(answer.body), name).toMatchObject({ error: code });
      expect(answer.head, name).toMatch(/\r\nconnection: close(\r\n|$)/i);
      expect(answer.head, name).toMatch(/\r\ncontent-type: application\/json/i);
      await checkResponse("relayGet", asResponse(answer));
    }
    expect(up.seen).toHaveLength(0);
  });

  it("accepts `Upgrade: WebSocket` in any case, and an upgrade on another path gets that path's ordinary answer", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(h.bff.url).port), "127.0.0.1");
      closers.push(async () => socket.destroy());
      socket.write(`${upgradeHead("/api/live/x", { Cookie: jar.header(), Upgrade: "WebSocket" })}\r\n\r\n`);
      socket.setEncoding("latin1").once("data", resolve);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(up.seen).toHaveLength(1);
    const health = await rawUpgrade(h.bff.url, upgradeHead("/healthz", {}));
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
  });

  it("an expired session whose refresh is rejected is 401 session_expired with the cookies cleared", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    h.emu.fault("InitiateAuth", { error: { code: "NotAuthorizedException", message: "Refresh Token has been revoked" } });
    h.emu.clock.advance(3600);
    const answer = await rawUpgrade(h.bff.url, upgradeHead("/api/live/x", { Cookie: jar.header() }));
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: "session_expired" });
    expect(answer.head).toMatch(/\r\nset-cookie: authjs\.session-token(\.\d+)?=;/i);
    expect(up.seen).toHaveLength(0);
  });

  it("huge headers are refused by Node with 431 before the BFF or the upstream see them", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const answer = await rawUpgrade(h.bff.url, upgradeHead("/api/live/x", { "X-Big": "a".repeat(20_000) }));
    expect(answer.status).toBe(431);
    expect(up.seen).toHaveLength(0);
  });
});

/** A masked client frame (RFC 6455 5.2): FIN, text, the payload masked with a zero key. */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

describe("bytes that travel with a head", () => {
  it("a frame sent in the same packet as the client's handshake reaches the upstream after the 101", async () => {
    const up = await wsUpstream();
    const received: string[] = [];
    up.wss.on("connection", (ws) => ws.on("message", (data) => received.push(String(data))));
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const socket = connect(Number(new URL(h.bff.url).port), "127.0.0.1");
    closers.push(async () => socket.destroy());
    socket.write(Buffer.concat([Buffer.from(`${upgradeHead("/api/live/x", { Cookie: jar.header() })}\r\n\r\n`), clientTextFrame("early")]));
    await expect.poll(() => received).toEqual(["early"]);
  });

  it("a frame the upstream sends in the same packet as its 101 reaches the client", async () => {
    const up = await wsUpstream();
    up.onUpgrade = (_accept, socket) => {
      // An unmasked server frame right behind the head: ws would send it in a separate write.
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x05first", "latin1");
    };
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const socket = connect(Number(new URL(h.bff.url).port), "127.0.0.1");
    closers.push(async () => socket.destroy());
    let text = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => (text += chunk));
    socket.write(`${upgradeHead("/api/live/x", { Cookie: jar.header() })}\r\n\r\n`);
    await expect.poll(() => text.endsWith("\r\n\r\n\x81\x05first")).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(text).toContain("\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n");
  });
});

describe("half-closed connections", () => {
  it("a client's FIN, behind an upstream that keeps its half open, releases both sockets (regression: both were held)", async () => {
    const up = await wsUpstream();
    let upstreamEnded = false;
    up.onUpgrade = (_accept, socket) => {
      socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
      socket.once("end", () => (upstreamEnded = true)).resume();
    };
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const socket = connect({ port: Number(new URL(h.bff.url).port), host: "127.0.0.1", allowHalfOpen: true });
    closers.push(async () => socket.destroy());
    socket.write(`${upgradeHead("/api/live/x", { Cookie: jar.header() })}\r\n\r\n`);
    await new Promise((resolve) => socket.once("data", resolve));
    const closed = once(socket.resume(), "end");
    socket.end();
    await closed;
    await expect.poll(() => upstreamEnded).toBe(true);
    await expect.poll(() => h.bff.bff.metrics.registry.metrics()).toContain('bff_websockets_open{upstream="live"} 0');
  });
});

describe("the upstream's handshake", () => {
  it("an answer other than 101 is relayed as an HTTP answer", async () => {
    const up = await wsUpstream();
    up.onUpgrade = (_accept, socket) => {
      socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nSet-Cookie: up=1\r\nConnection: close\r\n\r\nno, not you.");
    };
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const answer = await rawUpgrade(h.bff.url, upgradeHead("/api/live/x", { Cookie: jar.header() }));
    expect(answer.status).toBe(401);
    expect(answer.body).toBe("no, not you.");
    expect(answer.head).toMatch(/\r\ncontent-type: text\/plain/i);
    expect(answer.head).not.toMatch(/set-cookie: up=1/i);
    expect(up.seen).toHaveLength(1);
  });

  it("an upstream that never answers the handshake is 504 after its timeoutMs; one that cannot be reached is 502", async () => {
    const up = await wsUpstream();
    up.onUpgrade = () => undefined;
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const h = await harness({ slow: { url: up.url, token: "user", timeoutMs: 300 }, down: { url: `http://127.0.0.1:${closedPort}`, token: "user" } });
    const jar = await signIn(h.bff.url);

    const started = performance.now();
    const slow = await rawUpgrade(h.bff.url, upgradeHead("/api/slow/x", { Cookie: jar.header() }));
    const elapsed = performance.now() - started;
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.body)).toMatchObject({ error: "gateway_timeout" });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);

    const down = await rawUpgrade(h.bff.url, upgradeHead("/api/down/x", { Cookie: jar.header() }));
    expect(down.status).toBe(502);
    expect(JSON.parse(down.body)).toMatchObject({ error: "bad_gateway" });
    await checkResponse("relayGet", asResponse(slow));
    await checkResponse("relayGet", asResponse(down));
  });

  it("a client that leaves during the handshake abandons the upstream's handshake", async () => {
    const up = await wsUpstream();
    let upstreamGone = false;
    up.onUpgrade = (_accept, socket) => {
      socket.once("end", () => (upstreamGone = true)).resume();
    };
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const socket = connect(Number(new URL(h.bff.url).port), "127.0.0.1");
    socket.write(`${upgradeHead("/api/live/x", { Cookie: jar.header() })}\r\n\r\n`);
    await expect.poll(() => up.seen.length).toBe(1);
    socket.destroy();
    await expect.poll(() => upstreamGone).toBe(true);
  });
});

describe("back-pressure", () => {
  it("a client that does not read holds the upstream back: the BFF does not take the upstream's bytes into memory", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    // A raw client that completes the handshake and then never reads.
    const socket: Socket = connect(Number(new URL(h.bff.url).port), "127.0.0.1");
    closers.push(async () => socket.destroy());
    socket.write(`${upgradeHead("/api/live/x", { Cookie: jar.header() })}\r\n\r\n`);
    await new Promise<void>((resolve) => socket.once("data", () => resolve()));
    socket.pause();

    await expect.poll(() => up.wss.clients.size).toBe(1);
    const upstreamSide = [...up.wss.clients][0]!;
    const chunk = Buffer.alloc(256 * 1024, 7);
    const total = 64 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += chunk.length) upstreamSide.send(chunk, { binary: true });
    // Time for the BFF to have read all of it, were it reading without back-pressure.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    // What the kernel buffers (both sockets' send and receive buffers, a few MB on loopback) is all that left the
    // upstream: the rest waits in the upstream's own buffer. A relay that wrote every 'data' chunk would have taken it.
    expect(upstreamSide.bufferedAmount).toBeGreaterThan(total - 24 * 1024 * 1024);

    // And nothing is lost: once the client reads, every byte arrives.
    let received = 0;
    socket.on("data", (data: Buffer) => (received += data.length));
    socket.resume();
    await expect.poll(() => received, { timeout: 15_000 }).toBeGreaterThanOrEqual(total);
  }, 30_000);
});

describe("the process's HTTP server", () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it("its headers and request timeouts do not cut an established WebSocket", async () => {
    const up = await wsUpstream();
    const h = await harness({});
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    h.emu.addClient({ clientId: "bffclient1234567890", clientSecret: "bff-client-secret-0123456789abcdefghijklmnop", redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [`${url}/`] });
    running = await startServer(
      {
        ...serverEnv(h.emu, url),
        LOG_LEVEL: "silent",
        UPSTREAMS: JSON.stringify({ live: { url: up.url, token: "user" } }),
        HTTP_HEADERS_TIMEOUT_MS: "1000",
        HTTP_REQUEST_TIMEOUT_MS: "1000",
        HTTP_KEEP_ALIVE_TIMEOUT_MS: "1000",
      },
      { host: "127.0.0.1" },
    );
    const jar = await signIn(url);
    const { ws } = await openClient(wsUrl(url, "/api/live/x"), jar, url);
    await new Promise((resolve) => setTimeout(resolve, 2600));
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.send("still here");
    expect(String((await nextMessage(ws)).data)).toBe("still here");
    // Closed before the server's shutdown, which would otherwise wait its deadline for it.
    ws.close(1000);
    await once(ws, "close");
  }, 15_000);

  it("an app embedding createBff() relays WebSockets once its server's upgrade event goes to upgradeHandler", async () => {
    const up = await wsUpstream();
    const h = await harness({});
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    h.emu.addClient({ clientId: "bffclient1234567890", clientSecret: "bff-client-secret-0123456789abcdefghijklmnop", redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [`${url}/`] });
    const bff = await createBff({ ...serverEnv(h.emu, url), LOG_LEVEL: "silent", UPSTREAMS: JSON.stringify({ live: { url: up.url, token: "user" } }) });
    closers.push(() => bff.close());
    const host = express();
    host.get("/hello", (_req, res) => void res.json({ hello: "host" }));
    host.use(bff.handler);
    server.on("request", host);
    server.on("upgrade", bff.upgradeHandler);

    const jar = await signIn(url);
    const { ws } = await openClient(wsUrl(url, "/api/live/x"), jar, url);
    ws.send("through the host");
    expect(String((await nextMessage(ws)).data)).toBe("through the host");
    expect(up.seen[0]!.headers.authorization).toMatch(/^Bearer eyJ/);
    ws.terminate();
  });

  it("a graceful shutdown cuts WebSockets still open at its deadline and completes", async () => {
    const up = await wsUpstream();
    const h = await harness({ live: { url: up.url, token: "user" } });
    const jar = await signIn(h.bff.url);
    const server = createServer(h.bff.bff.app);
    server.on("upgrade", h.bff.bff.upgrade);
    const drain = trackConnections(server, { deadlineMs: 500, idleGraceMs: 100 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { ws } = await openClient(wsUrl(url, "/api/live/x"), jar, h.bff.url);
    const clientClosed = once(ws, "close");
    const started = performance.now();
    await drain();
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(3000);
    expect((await clientClosed)[0]).toBe(1006);
  });
});
