/**
 * `ALL /api/{upstream}/{path}`: the token relay. The SPA calls the BFF with
 * its cookie; the BFF calls the configured upstream with
 * `Authorization: Bearer <token>`: the user's access token (`user`,
 * `user-or-none`) or the BFF's own client-credentials token (`client`).
 */
import type { Express, Request, RequestHandler, Response } from "express";
import type { Pool } from "undici";
import type { SessionStore } from "../auth/session-store.js";
import type { ClientCredentials } from "../cognito/client-credentials.js";
import { BffError } from "../errors.js";
import { checkGroupRule } from "../proxy/group-rule.js";
import { upstreamRequestHeaders } from "../proxy/headers.js";
import type { CacheAudience } from "../proxy/cache-control.js";
import { createUpstreamPool, relay } from "../proxy/relay.js";
import type { UpstreamConfig, Upstreams } from "../proxy/upstreams.js";
import { browserOrigins } from "../http/browser-guards.js";
import { logCutResponse, requestId } from "../http/request-logger.js";
import { trustedChainOf } from "../http/trusted-chain.js";
import { observeUpstreamCall, type Metrics } from "../metrics.js";
import type { TokenRefresher } from "../refresh/token-refresher.js";
import type { Tracing } from "../tracing.js";
import { websocketRoute } from "./proxy-websocket.js";
import { readFreshSession } from "./session-tokens.js";

export interface ProxyRouteOptions {
  upstreams: Upstreams;
  sessions: SessionStore;
  refresher: TokenRefresher;
  /** Required when an upstream uses `client` mode. */
  clientCredentials: ClientCredentials | undefined;
  /** The CSRF/Origin/CORS rules for browser calls. */
  guard: RequestHandler;
  metrics: Metrics;
  /** `PUBLIC_URL`: the only source of `X-Forwarded-Proto`/`-Host` (a client's `Host` is not). */
  publicUrl: URL;
  /**
   * `public` (default): every upstream, under the browser rules; a `client` upstream serves signed-in
   * sessions only (it spends the BFF's own credentials). `internal` (INTERNAL_PORT): `client` upstreams
   * only, for services without a session; the others are 404 there.
   */
  listener?: "public" | "internal";
  /** `ALLOWED_ORIGINS`: with `PUBLIC_URL`'s origin, the only Origins a WebSocket upgrade may come from. */
  allowedOrigins?: readonly string[];
  /** With tracing on, each relayed HTTP call is a CLIENT span, and the upstream's `traceparent` names it. */
  tracing?: Tracing;
}

/** What {@link mountProxyRoutes}'s common steps found for a call. */
export interface PreparedCall {
  upstream: UpstreamConfig;
  pool: Pool;
  path: string;
  headers: Record<string, string | string[]>;
  audience: CacheAudience;
}

export interface ProxyRoutes {
  /** The relay of an HTTP call after the browser guard, as a plain `(req, res)` function (the fast lane calls it too). */
  handle(req: Request, res: Response): Promise<void>;
  /** Closes the upstream connection pools. */
  close(): Promise<void>;
}

/** The relay's route; the fast lane (src/http/fast-lane.ts) reports the same one for the calls it answers. */
export const API_ROUTE = "/api/:upstream{/*path}";

/** `/api/<name><rest><?query>` of the raw request URL: the path is relayed as the client encoded it. */
const API_URL = /^\/api\/([^/?]*)([^?]*)(\?.*)?$/i;

/** A `.` or `..` segment, with or without `;` parameters (`..;x`), between `/` or `\` separators. */
const DOT_SEGMENT = /(?:^|[/\\])\.\.?(?:;[^/\\]*)?(?=[/\\]|$)/;
const ENCODED = /%[0-9a-f]{2}/i;
const ENCODED_ALL = /%[0-9a-f]{2}/gi;
const decodeOne = (encoded: string): string => String.fromCharCode(Number.parseInt(encoded.slice(1), 16));

/**
 * A `.` or `..` segment would let a client climb out of the upstream's base
 * path, however the upstream reads the path: plain, percent-encoded
 * (`%2e%2E`, `.%2e`, `%2f` as a separator), encoded twice (`%252e`,
 * `%25%32%65`: a server or framework that decodes again), or with path
 * parameters (`..;/`, `..%3b/`, which Tomcat, Spring and Jetty read as `..`).
 * Decodes a byte per `%XX`, round after round until none is left (each round
 * shortens the path); a plain path costs two regular-expression tests.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4 (remove_dot_segments)
 */
export function hasDotSegment(path: string): boolean {
  let current = path;
  for (;;) {
    if (DOT_SEGMENT.test(current)) return true;
    if (!ENCODED.test(current)) return false;
    current = current.replace(ENCODED_ALL, decodeOne);
  }
}

/**
 * The path and query on the upstream for the raw path after `/api/<name>`:
 * rewritten when configured, under the upstream's base path.
 * @throws {BffError} `invalid_request` for dot segments.
 */
export function upstreamPath(upstream: UpstreamConfig, rest: string, query: string): string {
  let path = upstream.rewrite ? rest.replace(upstream.rewrite.from, upstream.rewrite.to) : rest;
  if (path !== "" && !path.startsWith("/")) path = `/${path}`;
  if (hasDotSegment(rest) || hasDotSegment(path)) {
    throw new BffError("invalid_request", { description: "The path must not contain . or .. segments." });
  }
  return `${upstream.basePath}${path}${query}`.replace(/^(?=\?|$)/, "/");
}

/**
 * Mounted on the app itself, like `/token`: one dispatch layer, no path-prefix rewriting. The fast lane answers
 * most calls before the router; the route still answers what it hands on (upgrades, request targets in another form).
 */
export function mountProxyRoutes(app: Express, options: ProxyRouteOptions): ProxyRoutes {
  const { upstreams, sessions, refresher, clientCredentials, guard, metrics, publicUrl } = options;
  const publicProto = publicUrl.protocol.slice(0, -1);
  const publicHost = publicUrl.host;
  const pools = new Map<string, Pool>();
  for (const upstream of Object.values(upstreams)) pools.set(upstream.name, createUpstreamPool(upstream.url.origin, upstream.timeoutMs));

  const internal = options.listener === "internal";
  const trustedChain = trustedChainOf(app);

  async function bearerFor(upstream: UpstreamConfig, req: Request, res: Response): Promise<string | undefined> {
    if (upstream.token === "client") {
      // On the public port the BFF's machine credentials are for signed-in users' calls only.
      if (!internal && !(await sessions.read(req.headers.cookie)).session) throw new BffError("unauthenticated");
      if (!clientCredentials) throw new BffError("internal_error", { logDetail: "client credentials are not configured" });
      return clientCredentials.accessToken(upstream.scopes);
    }
    const session = await readFreshSession(req, res, { sessions, refresher });
    // The rule reads the token about to be sent, after any refresh: a group change at Cognito counts from the next refresh.
    if (session) {
      checkGroupRule(session.access_token, upstream.groups, upstream.name);
      return session.access_token;
    }
    if (upstream.token === "user") throw new BffError("unauthenticated");
    return undefined;
  }

  /**
   * `user` when the session cookie authorized the call (on the public port a `client` upstream's too: only signed-in
   * sessions get it there), `cookie` when it could have, `service` for a service's call on the internal port.
   */
  const audienceOf = (upstream: UpstreamConfig, bearer: string | undefined): CacheAudience =>
    upstream.token === "client" ? (internal ? "service" : "user") : bearer ? "user" : "cookie";

  /**
   * The steps every relayed call takes, HTTP or WebSocket, in this order: the upstream by name, its methods, the
   * path on it, the bearer token (refreshed, group rule checked) and the headers.
   */
  async function prepare(req: Request, res: Response): Promise<PreparedCall> {
    const [, name = "", rest = "", query = ""] = API_URL.exec(req.originalUrl) ?? [];
    const upstream = Object.hasOwn(upstreams, name) ? upstreams[name] : undefined;
    const pool = pools.get(name);
    if (!upstream || !pool || (internal && upstream.token !== "client")) throw new BffError("not_found", { description: "No such upstream." });
    if (upstream.methods && !upstream.methods.includes(req.method)) {
      res.setHeader("Allow", upstream.methods.join(", "));
      throw new BffError("method_not_allowed");
    }
    const path = upstreamPath(upstream, rest, query);
    const bearer = await bearerFor(upstream, req, res);
    const headers = upstreamRequestHeaders(req.headers, {
      bearer,
      // Service-to-service calls never carry the user's cookies, even ones the BFF does not own.
      forwardCookies: upstream.token !== "client",
      requestId: requestId(res),
      // req.ips, what Express trusts under TRUST_PROXY (nothing with it off), also for the fast lane's plain requests;
      // proto and host are the public URL's, never the client's Host.
      forwarded: { trustedChain: trustedChain(req), peerAddress: req.socket.remoteAddress, proto: publicProto, host: publicHost },
    });
    return { upstream, pool, path, headers, audience: audienceOf(upstream, bearer) };
  }

  async function handle(req: Request, res: Response): Promise<void> {
    const { upstream, pool, path, headers, audience } = await prepare(req, res);
    const outcome = await relay(req, res, pool, {
      origin: upstream.url.origin,
      path,
      headers,
      timeoutMs: upstream.timeoutMs,
      passSetCookie: upstream.passSetCookie,
      audience,
      upstreamName: upstream.name,
      ...(options.tracing ? { tracing: options.tracing } : {}),
      observe: (statusClass, seconds) => observeUpstreamCall(metrics, upstream.name, statusClass, seconds),
    });
    if (outcome !== "answered") logCutResponse(res, outcome);
  }

  // An upgrade request (it only comes through the upgrade listener) is a WebSocket's; every other goes on to the guard.
  const websocket = websocketRoute({ prepare, metrics, allowedOrigins: browserOrigins({ publicOrigin: publicUrl.origin, allowedOrigins: options.allowedOrigins ?? [] }) });
  app.all(API_ROUTE, websocket, guard, handle);

  return {
    handle,
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
    },
  };
}
