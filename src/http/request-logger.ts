/**
 * One JSON log line per request, written when the response is ended: request
 * id (`X-Request-Id` accepted when well-formed, generated otherwise, and
 * returned), method, path (never the query string, which can hold an
 * authorization code), status, duration, and for failures the error code and
 * its private detail. No header, cookie or body is ever logged.
 *
 * Hand-written rather than pino-http: pino-http builds a child logger per
 * request, logs failures in a second line and listens for `finish` on every
 * response; this is one line, and the hook sits on the app's response
 * prototype (`app.response.end`), so a request costs no listener at all.
 */
import { randomUUID } from "node:crypto";
import type { Express, Request, RequestHandler, Response } from "express";
import type { Logger } from "../log.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** What the error handler leaves for the request's log line. */
export interface LoggedFailure {
  code: string;
  detail?: string | undefined;
  /** A foreign error's class; never its message, which may quote the request (a parser's quotes the body). */
  error?: { name: string } | undefined;
}

/** Called once per answered request, e.g. to feed a duration histogram. */
export type ObserveRequest = (route: string, method: string, status: number, seconds: number) => void;

export interface RequestLoggerOptions {
  observe?: ObserveRequest;
}

/** Per-request state, kept on `res.locals` (which Express creates anyway). */
interface Timing {
  requestId: string;
  started: number;
  logged: boolean;
  failure?: LoggedFailure;
}

/** Where requestLogger() leaves its line writer, for logCutResponse(). */
const LOG_REQUEST = Symbol("logRequest");

export function recordFailure(res: Response, failure: LoggedFailure): void {
  const timing = res.locals as Partial<Timing>;
  timing.failure = failure;
}

/**
 * Writes the request's line now for a response that will never be ended
 * because its connection was cut (`client_closed`: the client left;
 * `upstream_closed`: a relayed body broke off), with the status already sent,
 * or 499 (nginx's "client closed request") when none was.
 */
export function logCutResponse(res: Response, code: "client_closed" | "upstream_closed"): void {
  const timing = res.locals as Partial<Timing>;
  const logRequest = (res.app.locals as Record<symbol, ((res: Response, timing: Timing) => void) | undefined>)[LOG_REQUEST];
  if (!logRequest || timing.started === undefined || timing.logged) return;
  if (!res.headersSent) res.statusCode = 499;
  timing.failure = { code };
  logRequest(res, timing as Timing);
}

export function requestId(res: Response): string | undefined {
  return (res.locals as Partial<Timing>).requestId;
}

/**
 * A low-cardinality label for metrics: the matched route's pattern, the mount
 * point of a sub-app (`/auth`), or `unmatched`; never the raw path.
 */
export function routeLabel(req: Request): string {
  const pattern: unknown = req.route?.path;
  if (typeof pattern === "string") return pattern;
  if (Array.isArray(pattern)) return pattern.includes(req.path) ? req.path : String(pattern[0]);
  return req.baseUrl || "unmatched";
}

function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Installs the log hook on `app.response` and returns the middleware that
 * starts each request's timing; mount it first.
 */
export function requestLogger(app: Express, log: Logger, options: RequestLoggerOptions = {}): RequestHandler {
  // The request line holds only the fields below, none of them a secret, so it skips path redaction (~12 µs a line).
  const accessLog = log.child({}, { redact: [] });
  const { observe } = options;

  function logRequest(res: Response, timing: Timing): void {
    timing.logged = true;
    const req = res.req;
    const status = res.statusCode;
    const ms = performance.now() - timing.started;
    const line = {
      reqId: timing.requestId,
      method: req.method,
      path: pathOf(req.originalUrl),
      status,
      ms: Math.round(ms * 10) / 10,
      ...timing.failure,
    };
    if (status >= 500) accessLog.error(line, "request failed");
    else accessLog.info(line, "request");
    observe?.(routeLabel(req), req.method, status, ms / 1000);
  }

  (app.locals as Record<symbol, unknown>)[LOG_REQUEST] = logRequest;

  // Express sets every response's prototype to app.response; ending it is where a request is answered.
  const proto = app.response as Response & { end: Response["end"] };
  const end = proto.end;
  proto.end = function endAndLog(this: Response, ...args: unknown[]) {
    const result = (end as (...a: unknown[]) => Response).apply(this, args);
    const timing = this.locals as Partial<Timing>;
    if (timing.started !== undefined && !timing.logged) logRequest(this, timing as Timing);
    return result;
  } as Response["end"];

  return (req, res, next) => {
    const offered = req.headers["x-request-id"];
    const id = typeof offered === "string" && REQUEST_ID.test(offered) ? offered : randomUUID();
    const timing = res.locals as Partial<Timing>;
    timing.requestId = id;
    timing.started = performance.now();
    timing.logged = false;
    res.setHeader("X-Request-Id", id);
    next();
  };
}
