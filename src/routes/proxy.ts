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
import { upstreamRequestHeaders } from "../proxy/headers.js";
import { createUpstreamPool, relay } from "../proxy/relay.js";
import type { UpstreamConfig, Upstreams } from "../proxy/upstreams.js";
import { logCutResponse, requestId } from "../http/request-logger.js";
import type { Metrics } from "../metrics.js";
import type { TokenRefresher } from "../refresh/token-refresher.js";
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
}

export interface ProxyRoutes {
  /** Closes the upstream connection pools. */
  close(): Promise<void>;
}

/** `/api/<name><rest><?query>` of the raw request URL: the path is relayed as the client encoded it. */
const API_URL = /^\/api\/([^/?]*)([^?]*)(\?.*)?$/i;

/** A `.` or `..` segment, plain or percent-encoded, would let a client climb out of the upstream's base path. */
export function hasDotSegment(path: string): boolean {
  const normalized = path.replace(/%2e/gi, ".").replace(/%2f|%5c|\\/gi, "/");
  return normalized.split("/").some((segment) => segment === "." || segment === "..");
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

/** Mounted on the app itself, like `/token`: one dispatch layer, no path-prefix rewriting. */
export function mountProxyRoutes(app: Express, options: ProxyRouteOptions): ProxyRoutes {
  const { upstreams, sessions, refresher, clientCredentials, guard, metrics } = options;
  const pools = new Map<string, Pool>();
  for (const upstream of Object.values(upstreams)) pools.set(upstream.name, createUpstreamPool(upstream.url.origin, upstream.timeoutMs));

  async function bearerFor(upstream: UpstreamConfig, req: Request, res: Response): Promise<string | undefined> {
    if (upstream.token === "client") {
      if (!clientCredentials) throw new BffError("internal_error", { logDetail: "client credentials are not configured" });
      return clientCredentials.accessToken(upstream.scopes);
    }
    const session = await readFreshSession(req, res, { sessions, refresher });
    if (session) return session.access_token;
    if (upstream.token === "user") throw new BffError("unauthenticated");
    return undefined;
  }

  async function handle(req: Request, res: Response): Promise<void> {
    const [, name = "", rest = "", query = ""] = API_URL.exec(req.originalUrl) ?? [];
    const upstream = Object.hasOwn(upstreams, name) ? upstreams[name] : undefined;
    const pool = pools.get(name);
    if (!upstream || !pool) throw new BffError("not_found", { description: "No such upstream." });
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
      forwarded: { trustedChain: req.ips, peerAddress: req.socket.remoteAddress, proto: req.protocol, host: req.host },
    });
    const outcome = await relay(req, res, pool, {
      origin: upstream.url.origin,
      path,
      headers,
      timeoutMs: upstream.timeoutMs,
      passSetCookie: upstream.passSetCookie,
      upstreamName: upstream.name,
      observe: (statusClass, seconds) => {
        metrics.upstreamRequests.inc({ upstream: upstream.name, status_class: statusClass });
        metrics.upstreamDuration.observe({ upstream: upstream.name }, seconds);
      },
    });
    if (outcome !== "answered") logCutResponse(res, outcome);
  }

  app.all("/api/:upstream{/*path}", guard, handle);

  return {
    async close() {
      await Promise.all([...pools.values()].map((pool) => pool.close()));
    },
  };
}
