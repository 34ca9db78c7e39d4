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
import { NO_TRACING, type TraceSpan, type Tracing } from "../tracing.js";

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
  /** With tracing on, each request is a SERVER span, ended with its log line, whose trace id the line carries. */
  tracing?: Tracing;
}

/** Per-request state, kept on `res.locals` (which Express creates anyway). */
interface Timing {
  requestId: string;
  started: number;
  logged: boolean;
  failure?: LoggedFailure;
  /** The request's SERVER span (tracing on). */
  span?: TraceSpan;
  /** The line writer, for logCutResponse() (kept here rather than on `res.app`: the fast lane's responses have none). */
  log: (res: Response, timing: Timing) => void;
}

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
  if (!timing.log || timing.started === undefined || timing.logged) return;
  if (!res.headersSent) res.statusCode = 499;
  timing.failure = { code };
  timing.log(res, timing as Timing);
}

/**
 * Writes the request's line, status 101, for a WebSocket upgrade whose `101`
 * was written on the socket: the response object itself is never ended.
 */
export function logUpgradedResponse(res: Response): void {
  const timing = res.locals as Partial<Timing>;
  if (!timing.log || timing.started === undefined || timing.logged) return;
  res.statusCode = 101;
  timing.log(res, timing as Timing);
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

/**
 * The route as a low-cardinality template for span names and `http.route`:
 * Express's `/api/:upstream{/*path}` becomes `/api/{upstream}` (the relayed
 * path is free-form), `/auth/sessions/:id` becomes `/auth/sessions/{id}`;
 * undefined when no route matched.
 */
export function routeTemplate(req: Request): string | undefined {
  const label = routeLabel(req);
  if (label === "unmatched") return undefined;
  return label
    .replace(/\{[^{}]*\*[^{}]*\}/g, "")
    .replace(/\{([^{}]*)\}/g, "$1")
    .replace(/[:*](\w+)/g, "{$1}");
}

/**
 * Ends the request's SERVER span: named `METHOD /route` (never the raw path),
 * with the route and status; a 5xx is an error.
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-server
 */
function endServerSpan(span: TraceSpan, req: Request, status: number, failure: LoggedFailure | undefined): void {
  const route = routeTemplate(req);
  span.updateName(route ? `${req.method} ${route}` : req.method);
  span.setAttributes(route ? { "http.route": route, "http.response.status_code": status } : { "http.response.status_code": status });
  if (failure) span.setAttributes({ "bff.error.code": failure.code });
  if (status >= 500) span.fail(String(status));
  span.end();
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
  const { observe, tracing = NO_TRACING } = options;

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
    if (timing.span) {
      (line as typeof line & { trace_id?: string }).trace_id = timing.span.traceId;
      endServerSpan(timing.span, req, status, timing.failure);
    }
    if (status >= 500) accessLog.error(line, "request failed");
    else accessLog.info(line, "request");
    observe?.(routeLabel(req), req.method, status, ms / 1000);
  }

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
    timing.log = logRequest;
    res.setHeader("X-Request-Id", id);
    if (!tracing.enabled) return next();
    // The query string is never recorded: it can hold an authorization code (the Auth.js callback's `code`, `state`).
    const span = tracing.startServerSpan(req.method, req.headers, { "http.request.method": req.method, "url.path": pathOf(req.originalUrl) });
    timing.span = span;
    tracing.withSpan(span, next);
  };
}
