/**
 * The error handler after all routes: every error becomes the documented JSON
 * body. The request's log line (error level for 5xx, info for 4xx) gets the
 * code and the private detail, never a token, cookie or any part of a body.
 */
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { SessionStore } from "../auth/session-store.js";
import { BffError, isBffError } from "../errors.js";
import { recordFailure } from "./request-logger.js";

/** Body-parser errors carry `type` and `status`; map them to our codes. */
function fromExpressError(error: unknown): BffError | undefined {
  const e = error as { type?: unknown; status?: unknown } | null;
  if (!e || typeof e !== "object") return undefined;
  if (e.type === "entity.too.large") return new BffError("payload_too_large");
  if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
    return new BffError("invalid_request", { logDetail: `request rejected by a parser (${String(e.type ?? e.status)})` });
  }
  return undefined;
}

const CLASS_NAME = /^[\w$.]{1,64}$/;

/**
 * What the log may say of a foreign error: its class only. Its message stays
 * out, because foreign messages quote their input: a body parser's
 * `SyntaxError` carries the start of the body (`…"rfToken": SUPERSECRE"…`),
 * and a library's may carry a header or a claim. The line's method and path
 * say where it happened.
 */
function errorClass(error: unknown): string {
  const name = error instanceof Error ? error.name : typeof error;
  return CLASS_NAME.test(name) ? name : "Error";
}

export const notFound: RequestHandler = (_req, _res, next) => next(new BffError("not_found"));

export function errorHandler(sessions: SessionStore): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const failure = isBffError(error) ? error : (fromExpressError(error) ?? new BffError("internal_error"));
    const foreign = isBffError(error) ? undefined : { name: errorClass(error) };
    recordFailure(res, { code: failure.code, detail: failure.logDetail, error: foreign });
    if (failure.code === "session_expired") {
      res.append("Set-Cookie", sessions.clear(sessions.presentCookieNames(req.headers.cookie)));
    }
    if (failure.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(failure.retryAfterSeconds));
    res.setHeader("Cache-Control", "no-store");
    res.status(failure.status).json(failure.toBody());
  };
}
