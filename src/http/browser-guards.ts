/**
 * The rules for browser calls to `/token*` and `/api/*`:
 * - a request whose `Origin` is neither this service nor an allowed SPA origin gets 403 `origin_not_allowed`;
 * - CORS with credentials for the allowed origins (the `cors` package answers preflights);
 * - every non-preflight request carries `X-CSRF: 1`, a header a cross-site form or
 *   image cannot send and that forces a CORS preflight, or gets 403 `csrf_required`.
 */
import cors from "cors";
import vary from "vary";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { BffError } from "../errors.js";

export interface BrowserGuardOptions {
  publicOrigin: string;
  allowedOrigins: readonly string[];
}

/** The Origins a browser call may come from: this service's own and the SPAs' (`ALLOWED_ORIGINS`). */
export function browserOrigins({ publicOrigin, allowedOrigins }: BrowserGuardOptions): ReadonlySet<string> {
  return new Set([publicOrigin, ...allowedOrigins]);
}

/**
 * One middleware (one dispatch layer on the hot path) that applies the three rules in order. Plain Node: it
 * needs none of Express's helpers, so the fast lane calls it on plain requests too.
 */
export function browserGuards({ publicOrigin, allowedOrigins }: BrowserGuardOptions): RequestHandler {
  const allowed = browserOrigins({ publicOrigin, allowedOrigins });
  const corsMiddleware = cors({
    origin: [...allowedOrigins],
    credentials: true,
    methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["X-CSRF", "Content-Type", "Accept", "X-Request-Id"],
    exposedHeaders: ["Retry-After", "X-Request-Id"],
    maxAge: 600,
  });

  const requireCsrfHeader = (req: Request, next: NextFunction) => {
    if (req.headers["x-csrf"] !== "1") next(new BffError("csrf_required"));
    else next();
  };

  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.headers.origin;
    if (origin === undefined) {
      // No CORS to answer; caches still need to know that the answer varies by Origin.
      vary(res, "Origin");
      requireCsrfHeader(req, next);
      return;
    }
    if (!allowed.has(origin)) {
      next(new BffError("origin_not_allowed", { logDetail: "origin not in ALLOWED_ORIGINS" }));
      return;
    }
    // The cors package answers preflights itself and calls next() for the rest.
    // Stryker disable next-line ConditionalExpression: with a fixed list of origins the cors package never passes an error.
    corsMiddleware(req, res, (error?: unknown) => (error ? next(error) : requireCsrfHeader(req, next)));
  };
}
