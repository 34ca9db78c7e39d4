/**
 * WebSockets through the relay, the parts that are not about a route: taking
 * an `upgrade` event of the HTTP server into the app as an ordinary
 * request/response pair, opening the upstream's WebSocket handshake, writing
 * the `101` to the client, and splicing the two sockets together.
 *
 * After the handshake the BFF reads no frame: the bytes are piped both ways
 * (with the sockets' back-pressure), so a close frame passes through as it
 * was sent, and a TCP drop on one side destroys the other.
 * @see https://www.rfc-editor.org/rfc/rfc6455#section-4 (opening handshake)
 * @see https://nodejs.org/api/http.html#event-upgrade (the server's `upgrade` event)
 */
import { request as httpRequest, ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Duplex } from "node:stream";
import type { Socket } from "node:net";
import { BffError } from "../errors.js";
import { toGatewayError } from "./relay.js";

/** Where an upgrade request keeps its raw socket and the bytes that came with its head. */
const UPGRADE = Symbol("upgrade");

export interface UpgradeSocket {
  socket: Duplex;
  head: Buffer;
}

/** The app's `(req, res)` entry (an Express app). */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** A listener for the HTTP server's `upgrade` event. */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Runs an upgrade request through `app` like any other request: the app
 * answers it with a `ServerResponse` on the raw socket (`Connection: close`),
 * or a WebSocket route takes the socket ({@link upgradeOf}) and answers `101`
 * itself. Node hands an upgrade to this event instead of `request` (with
 * neither the server's timeouts nor a parser on the socket afterwards), so
 * every path and every refusal gets the app's usual headers, JSON errors and
 * log line.
 */
export function createUpgradeListener(app: RequestListener): UpgradeListener {
  return (req, socket, head) => {
    // An upgraded socket has no error listener of Node's: a reset would otherwise be an uncaught exception.
    socket.on("error", () => socket.destroy());
    (req as IncomingMessage & { [UPGRADE]?: UpgradeSocket })[UPGRADE] = { socket, head };
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once("finish", () => {
      res.detachSocket(socket as Socket);
      // Ends the connection once the answer is flushed (Connection: close).
      socket.end();
    });
    app(req, res);
  };
}

/** The raw socket of a request that came through {@link createUpgradeListener}; undefined for ordinary requests. */
export function upgradeOf(req: IncomingMessage): UpgradeSocket | undefined {
  return (req as IncomingMessage & { [UPGRADE]?: UpgradeSocket })[UPGRADE];
}

/**
 * Whether the request asks for a WebSocket: `Upgrade: websocket` (any case, RFC 6455 4.2.1),
 * alone: a list such as `websocket, h2c` is not a WebSocket handshake.
 */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.headers.upgrade?.trim().toLowerCase() === "websocket";
}

/**
 * The request's one `Origin`; undefined when it has none or several (raw
 * headers are counted: Node joins duplicates into one value, and a second
 * Origin is not a browser's).
 */
export function singleOrigin(req: IncomingMessage): string | undefined {
  let origin: string | undefined;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== "origin") continue;
    if (origin !== undefined) return undefined;
    origin = req.rawHeaders[i + 1]!;
  }
  return origin;
}

export interface UpstreamHandshakeRequest {
  /** The upstream's http(s) URL; its scheme decides plain or TLS (`ws://` / `wss://`). */
  url: URL;
  /** Path and query on the upstream. */
  path: string;
  /** End-to-end headers (from headers.ts); the handshake's `Connection` and `Upgrade` are added here. */
  headers: Record<string, string | string[]>;
  /** Deadline for the upstream's answer to the handshake, connecting included. */
  timeoutMs: number;
  upstreamName: string;
  /** The client's socket: when it goes away, the handshake is abandoned. */
  client: Duplex;
  /** Bytes that came after the client's request head (normally none: a client waits for the 101). */
  clientHead: Buffer;
}

export type UpstreamHandshake =
  /** `101`: the upstream's socket, and any bytes that came right after its head. */
  | { kind: "upgraded"; response: IncomingMessage; socket: Duplex; head: Buffer; clientHead: Buffer }
  /** Any other answer (401, 404, ...): to be relayed as an HTTP answer. */
  | { kind: "answered"; response: IncomingMessage }
  | { kind: "client_closed" };

/**
 * Sends the handshake to the upstream and waits for its answer.
 * @throws {BffError} `gateway_timeout` past `timeoutMs`, `bad_gateway` when the upstream cannot be reached or answers badly.
 */
export function openUpstreamWebSocket(target: UpstreamHandshakeRequest): Promise<UpstreamHandshake> {
  const send = target.url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<UpstreamHandshake>((resolve, reject) => {
    const request = send({
      protocol: target.url.protocol,
      // Stryker disable next-line Regex: brackets are only ever first and last in a URL's hostname (an IPv6 address), so one anchor is enough
      hostname: target.url.hostname.replace(/^\[|\]$/g, ""),
      port: target.url.port || undefined,
      path: target.path,
      // Stryker disable next-line StringLiteral: an empty method is sent as GET by Node too
      method: "GET",
      headers: { ...target.headers, connection: "Upgrade", upgrade: "websocket" } satisfies OutgoingHttpHeaders,
      // A connection of its own: an upgraded socket never goes back to a pool.
      agent: false,
    });
    let settled = false;
    // The client's socket is read while the upstream is asked: a client that leaves (its FIN) is seen only by reading.
    const early: Buffer[] = [target.clientHead];
    const onClientData = (chunk: Buffer) => void early.push(chunk);
    const settle = (outcome: UpstreamHandshake | BffError) => {
      // Stryker disable next-line ConditionalExpression: a second settle only repeats the clean-up (clearTimeout, off, pause), and a promise settles once
      if (settled) return;
      // Stryker disable next-line BooleanLiteral: as above, and the late-answer guards below are unreachable
      settled = true;
      clearTimeout(deadline);
      target.client.off("close", onClientClose).off("end", onClientClose).off("data", onClientData).pause();
      if (outcome instanceof BffError) reject(outcome);
      else resolve(outcome);
    };
    const onClientClose = () => {
      request.destroy();
      target.client.destroy();
      settle({ kind: "client_closed" });
    };
    const deadline = setTimeout(() => {
      request.destroy();
      settle(new BffError("gateway_timeout", { logDetail: `upstream ${target.upstreamName}: no answer to the WebSocket handshake within ${target.timeoutMs} ms` }));
    }, target.timeoutMs);
    target.client.once("close", onClientClose).once("end", onClientClose).on("data", onClientData);
    request.on("upgrade", (response, socket, head) => {
      // Stryker disable next-line ConditionalExpression,BlockStatement: unreachable, every settle before an answer destroys the request, which then emits none
      if (settled) {
        // Stryker disable next-line CallExpression: unreachable, as above
        socket.destroy();
        return;
      }
      settle({ kind: "upgraded", response, socket, head, clientHead: Buffer.concat(early) });
    });
    request.on("response", (response) => {
      // Stryker disable next-line ConditionalExpression,BlockStatement: unreachable, every settle before an answer destroys the request, which then emits none
      if (settled) {
        // Stryker disable next-line CallExpression: unreachable, as above
        response.destroy();
        return;
      }
      settle({ kind: "answered", response });
    });
    request.on("error", (error) => settle(toGatewayError(error, target.upstreamName)));
    request.end();
  });
}

/** Field values that could split the head: a header with CR or LF is not written (Node's setHeader refuses them anyway). */
const UNSAFE_VALUE = /[\r\n]/;

/**
 * Writes `101 Switching Protocols` with `headers` on the client's socket, then
 * any bytes the upstream sent right after its own head.
 * @see https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2 (the server's handshake answer)
 */
export function writeSwitchingProtocols(client: Duplex, headers: Record<string, string | string[] | number>, upstreamHead: Buffer): void {
  let head = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n";
  for (const [name, value] of Object.entries(headers)) {
    for (const one of ([] as (string | number)[]).concat(value)) {
      const text = String(one);
      if (!UNSAFE_VALUE.test(text)) head += `${name}: ${text}\r\n`;
    }
  }
  client.write(`${head}\r\n`);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: writing an empty buffer sends no byte
  if (upstreamHead.length > 0) client.write(upstreamHead);
}

/** How long an orderly close waits for what is still queued to a peer that does not read. */
const FLUSH_GRACE_MS = 5000;

export type TunnelEnd = "client_closed" | "upstream_closed";

/**
 * Pipes the client's and the upstream's sockets into each other until one
 * side closes; resolves with the side that closed first. `pipe` pauses a
 * side whose peer is not reading, so a slow reader holds the sender back
 * instead of growing the BFF's buffers. An orderly end (a FIN after the close
 * frames) is passed on as one; an error or a drop destroys the other side.
 * No idle timeout: an established WebSocket stays open as long as both ends
 * keep it.
 */
export function spliceSockets(client: Duplex, upstream: Duplex, clientHead: Buffer): Promise<TunnelEnd> {
  for (const socket of [client, upstream] as Socket[]) {
    socket.setTimeout?.(0);
    socket.setNoDelay?.(true);
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: writing an empty buffer sends no byte
  if (clientHead.length > 0) upstream.write(clientHead);
  return new Promise<TunnelEnd>((resolve) => {
    let first: TunnelEnd | undefined;
    let open = 2;
    const closed = (side: TunnelEnd, other: Duplex) => (hadError?: boolean) => {
      first ??= side;
      if (--open === 0) resolve(first);
      if (other.destroyed) return;
      // A drop (reset, error): nothing more will come, so the other side is cut too.
      if (hadError) return void other.destroy();
      // An orderly close: what was already relayed (the close frame) is flushed first, then the socket goes,
      // without waiting for a FIN the other peer may never send; one that does not read gets a few seconds.
      other.end();
      const cut = setTimeout(() => other.destroy(), FLUSH_GRACE_MS).unref();
      if (other.writableFinished) other.destroy();
      else other.once("finish", () => other.destroy());
      other.once("close", () => clearTimeout(cut));
    };
    client.on("error", () => client.destroy());
    upstream.on("error", () => upstream.destroy());
    // A WebSocket is not half-closed: a side that sent its FIN gets ours once what is queued for it is flushed.
    // Otherwise a client that vanished, behind an upstream that keeps its half open, would hold both sockets.
    client.once("end", () => client.end());
    upstream.once("end", () => upstream.end());
    client.once("close", closed("client_closed", upstream));
    upstream.once("close", closed("upstream_closed", client));
    client.pipe(upstream);
    upstream.pipe(client);
  });
}
