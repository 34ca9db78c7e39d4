/**
 * `GET /token` and `POST /token/refresh`: hand the SPA a fresh access token.
 * Never the refresh token; the ID token only when configured.
 */
import type { ServerResponse } from "node:http";
import type { Express, Request, RequestHandler, Response } from "express";
import type { SessionPayload } from "../auth/session-payload.js";
import type { SessionStore } from "../auth/session-store.js";
import { BffError } from "../errors.js";
import type { TokenRefresher } from "../refresh/token-refresher.js";
import { readFreshSession } from "./session-tokens.js";

/** Upper bound for `min_ttl`: one day, Cognito's longest access-token lifetime. */
export const MAX_MIN_TTL_SECONDS = 86_400;

export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_at: number;
  expires_in: number;
  scope?: string;
  id_token?: string;
}

export interface TokenRouteOptions {
  sessions: SessionStore;
  refresher: TokenRefresher;
  includeIdToken: boolean;
  /** Epoch milliseconds. */
  now: () => number;
  /** The CSRF/Origin/CORS rules for browser calls. */
  guard: RequestHandler;
}

/** `min_ttl`: absent, or one whole number of seconds in [0, 86400]. */
export function parseMinTtl(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d{1,5}$/.test(value) || Number(value) > MAX_MIN_TTL_SECONDS) {
    throw new BffError("invalid_request", {
      description: `min_ttl must be a whole number of seconds between 0 and ${MAX_MIN_TTL_SECONDS}.`,
    });
  }
  return Number(value);
}

export function toTokenResponse(session: SessionPayload, nowSeconds: number, includeIdToken: boolean): TokenResponse {
  const body: TokenResponse = {
    access_token: session.access_token,
    token_type: "Bearer",
    expires_at: session.expires_at,
    expires_in: Math.max(0, session.expires_at - nowSeconds),
  };
  if (session.scope) body.scope = session.scope;
  if (includeIdToken && session.id_token) body.id_token = session.id_token;
  return body;
}

/** The two answers, as plain `(req, res)` functions that Express's routes and the fast lane (src/http/fast-lane.ts) both call. */
export interface TokenHandlers {
  /** `GET /token` (and HEAD). */
  token(req: Request, res: Response): Promise<void>;
  /** `POST /token/refresh`. */
  refresh(req: Request, res: Response): Promise<void>;
  /**
   * Any other method on either path: throws the 405, synchronously (Express answers a synchronous throw before
   * Node's parser reads on, so an unframed body is not taken for the next request first).
   */
  notAllowed(req: Request, res: Response): never;
}

/** No query string, or an empty one: nothing to parse (most `/token` calls). */
const NO_QUERY = /^[^?]*\??$/;

/**
 * Mounted on the app itself rather than a Router: one dispatch layer less. The fast lane answers these paths
 * before the router; the routes still answer what it hands on (request targets in another form, upgrades).
 */
export function mountTokenRoutes(app: Express, { sessions, refresher, includeIdToken, now, guard }: TokenRouteOptions): TokenHandlers {
  async function serve(req: Request, res: Response, force: boolean): Promise<void> {
    const minTtlSeconds = NO_QUERY.test(req.url) ? undefined : parseMinTtl(req.query.min_ttl);
    const current = await readFreshSession(req, res, { sessions, refresher }, { minTtlSeconds, force });
    if (!current) throw new BffError("unauthenticated");

    // Written directly rather than through res.json(): no ETag or freshness check applies to a no-store
    // answer, and Express would parse and re-format the Content-Type it just set on every call.
    const body = JSON.stringify(toTokenResponse(current, Math.floor(now() / 1000), includeIdToken));
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("Pragma", "no-cache");
    res.setHeader("Content-Type", "application/json; charset=utf-8");
    res.setHeader("Content-Length", Buffer.byteLength(body));
    res.end(body);
  }
  const handlers: TokenHandlers = {
    token: (req, res) => serve(req, res, false),
    refresh: (req, res) => serve(req, res, true),
    notAllowed: (req, res) => {
      throw methodNotAllowed(res, req.url);
    },
  };

  // The guard runs as route middleware, not app.use("/token"): no path-prefix rewriting.
  app.get("/token", guard, handlers.token);
  app.post("/token/refresh", guard, handlers.refresh);
  app.options(TOKEN_PATHS, guard);
  app.all(TOKEN_PATHS, guard, handlers.notAllowed);
  return handlers;
}

/** `/token/refresh` in any case, with one optional trailing slash and a query, as the routes match it. */
const REFRESH_PATH = /\/refresh\/?(?:\?.*)?$/i;

/**
 * The 405 of a token path, with the `Allow` header a 405 must carry (`/token`: GET, HEAD; `/token/refresh`: POST;
 * OPTIONS is only a preflight). `url`: the request's path (and query) under the app.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6
 */
function methodNotAllowed(res: ServerResponse, url: string): BffError {
  res.setHeader("Allow", REFRESH_PATH.test(url) ? "POST" : "GET, HEAD");
  return new BffError("method_not_allowed");
}

/** The paths of the routes that answer every method (OPTIONS, and 405 for the others). */
export const TOKEN_PATHS: string[] = ["/token", "/token/refresh"];
