/**
 * `GET /api/{upstream}/{path}` with `Upgrade: websocket`: the WebSocket side
 * of the token relay. The same steps as an HTTP call (upstream, methods, path,
 * token, group rule, headers: `prepare`), with the Origin rule in place of
 * `X-CSRF` (a browser cannot set headers on a WebSocket, but always sends its
 * Origin), then the upstream's handshake and the two sockets spliced.
 * @see https://www.rfc-editor.org/rfc/rfc6455#section-10.2 (Origin considerations)
 */
import type { Request, RequestHandler, Response } from "express";
import { pipeline } from "node:stream/promises";
import { BffError, isBffError } from "../errors.js";
import { downstreamResponseHeaders } from "../proxy/headers.js";
import { applyResponseHeaders } from "../proxy/relay.js";
import {
  isWebSocketUpgrade,
  openUpstreamWebSocket,
  singleOrigin,
  spliceSockets,
  upgradeOf,
  writeSwitchingProtocols,
  type UpgradeSocket,
} from "../proxy/websocket.js";
import { logCutResponse, logUpgradedResponse } from "../http/request-logger.js";
import { observeUpstreamCall, type Metrics } from "../metrics.js";
import type { PreparedCall } from "./proxy.js";

export interface WebSocketRouteDeps {
  /** The relay's common steps (see proxy.ts). */
  prepare(req: Request, res: Response): Promise<PreparedCall>;
  metrics: Metrics;
  /** `PUBLIC_URL`'s origin and `ALLOWED_ORIGINS`. */
  allowedOrigins: ReadonlySet<string>;
}

/** Refusals before anything else is read: the method, the kind of upgrade, the Origin. */
function checkHandshake(req: Request, res: Response, allowedOrigins: ReadonlySet<string>): void {
  if (req.method !== "GET") {
    res.setHeader("Allow", "GET");
    throw new BffError("method_not_allowed", { logDetail: "a WebSocket upgrade must be a GET" });
  }
  if (!isWebSocketUpgrade(req)) {
    throw new BffError("invalid_request", { description: "Only WebSocket upgrades (Upgrade: websocket) are relayed.", logDetail: "upgrade to another protocol" });
  }
  // A handshake has no body (RFC 6455 4.1); bytes after its head are frames, and only after the 101.
  const length = req.headers["content-length"];
  if (req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")) {
    throw new BffError("invalid_request", { description: "A WebSocket upgrade has no body.", logDetail: "upgrade with a body" });
  }
  const origin = singleOrigin(req);
  if (origin === undefined || !allowedOrigins.has(origin)) {
    throw new BffError("origin_not_allowed", { logDetail: "a WebSocket upgrade needs exactly one Origin: PUBLIC_URL's or one of ALLOWED_ORIGINS" });
  }
}

async function relayWebSocket(req: Request, res: Response, { socket, head }: UpgradeSocket, deps: WebSocketRouteDeps): Promise<void> {
  checkHandshake(req, res, deps.allowedOrigins);
  const { upstream, path, headers, audience } = await deps.prepare(req, res);
  const labels = { upstream: upstream.name };
  const started = performance.now();
  const observe = (statusClass: string) => observeUpstreamCall(deps.metrics, upstream.name, statusClass, (performance.now() - started) / 1000);
  let handshake;
  try {
    handshake = await openUpstreamWebSocket({ url: upstream.url, path, headers, timeoutMs: upstream.timeoutMs, upstreamName: upstream.name, client: socket, clientHead: head });
  } catch (error) {
    observe(isBffError(error) && error.code === "gateway_timeout" ? "timeout" : "error");
    throw error;
  }
  if (handshake.kind === "client_closed") {
    logCutResponse(res, "client_closed");
    return;
  }
  observe(`${Math.floor((handshake.response.statusCode ?? 0) / 100)}xx`);
  // Only the session step sets cookies on `res`: one here is the re-issued session, and it goes out with the 101 too.
  const sessionCookieSet = res.hasHeader("set-cookie");
  applyResponseHeaders(res, downstreamResponseHeaders(handshake.response.headers, upstream.passSetCookie, { audience, sessionCookieSet }));

  if (handshake.kind === "answered") {
    // Not a 101 (401, 404, ...): the upstream's answer, relayed as an HTTP answer; the connection closes after it.
    res.statusCode = handshake.response.statusCode ?? 502;
    try {
      await pipeline(handshake.response, res);
    } catch {
      logCutResponse(res, socket.destroyed && !handshake.response.destroyed ? "client_closed" : "upstream_closed");
      socket.destroy();
    }
    return;
  }

  const answer = res.getHeaders() as Record<string, string | string[] | number>;
  res.detachSocket(socket as Parameters<Response["detachSocket"]>[0]);
  writeSwitchingProtocols(socket, answer, handshake.head);
  logUpgradedResponse(res);
  deps.metrics.websocketsOpen.inc(labels);
  try {
    await spliceSockets(socket, handshake.socket, handshake.clientHead);
  } finally {
    deps.metrics.websocketsOpen.dec(labels);
  }
}

/**
 * The route's first handler: takes the requests that came through the
 * upgrade listener and hands every other one on (to the browser guard and the
 * HTTP relay). Refusals are thrown to the error handler, which answers them on
 * the socket as JSON with `Connection: close`; the upstream is not contacted.
 */
export function websocketRoute(deps: WebSocketRouteDeps): RequestHandler {
  return async (req, res, next) => {
    const upgrade = upgradeOf(req);
    if (!upgrade) return next();
    await relayWebSocket(req, res, upgrade, deps);
  };
}
