/**
 * One relayed exchange: the client's request streamed to the upstream, the
 * upstream's answer streamed back, neither body buffered.
 *
 * undici rather than http-proxy-middleware: it is the fastest maintained HTTP
 * client for Node (a dedicated keep-alive Pool per upstream), and the token
 * and headers are plain inputs of each call; http-proxy-middleware wraps the
 * older http-proxy on node:http agents with no per-request token hook.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { EventEmitter } from "node:events";
import { Pool, type Dispatcher } from "undici";
import { BffError } from "../errors.js";
import type { TraceSpan, Tracing } from "../tracing.js";
import type { CacheAudience } from "./cache-control.js";
import { downstreamResponseHeaders } from "./headers.js";

/** undici's and node:net's codes for "no answer in time". */
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT", "ETIMEDOUT"]);
/** Longest wait for a TCP/TLS connection to an upstream (capped by its timeout). */
const MAX_CONNECT_TIMEOUT_MS = 10_000;

export interface RelayRequest {
  /** The upstream's origin, e.g. `https://orders.internal`. */
  origin: string;
  /** Path and query on the upstream. */
  path: string;
  headers: Record<string, string | string[]>;
  /**
   * Deadline for the answer's headers, from the start of this call (connecting
   * and sending the request and its body included), and for each pause in the
   * answer's body.
   */
  timeoutMs: number;
  passSetCookie: boolean;
  /** Who the answer is for: decides what caches may keep of it and its `Vary: Cookie`. */
  audience: CacheAudience;
  /** For the log line only. */
  upstreamName: string;
  /**
   * Called once per call that reached the upstream or failed to: the answer's
   * class (`2xx`…`5xx`, or `timeout`/`error` when none came) and the seconds until
   * its headers (or the failure). Not called when the client left first.
   */
  observe?: (statusClass: string, seconds: number) => void;
  /**
   * With tracing on, the call is a CLIENT span, and the upstream's `traceparent` names it as the parent
   * (replacing the client's; off, the client's passes unchanged).
   */
  tracing?: Tracing;
}

export type RelayOutcome = "answered" | "client_closed" | "upstream_closed";

/** A keep-alive connection pool for one upstream origin. */
export function createUpstreamPool(origin: string, timeoutMs: number): Pool {
  return new Pool(origin, { connect: { timeout: Math.min(timeoutMs, MAX_CONNECT_TIMEOUT_MS) } });
}

function errorCode(error: unknown): string {
  const e = error as { code?: unknown; cause?: { code?: unknown }; name?: unknown } | null;
  const code = e?.code ?? e?.cause?.code ?? e?.name;
  return typeof code === "string" ? code.replace(/[^\w.-]/g, "").slice(0, 64) : "unknown";
}

/** Failures to get an answer: timeouts are 504, everything else (refused, reset, DNS, TLS, a malformed answer) 502. */
export function toGatewayError(error: unknown, upstreamName: string): BffError {
  const code = errorCode(error);
  const logDetail = `upstream ${upstreamName}: ${code}`;
  return TIMEOUT_CODES.has(code) ? new BffError("gateway_timeout", { logDetail }) : new BffError("bad_gateway", { logDetail });
}

/** Whether the request carries a body to stream (RFC 9112 6.3: Transfer-Encoding, or a non-zero Content-Length). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** Sets the relayed answer's headers on `res`, adding to (not replacing) a `Set-Cookie` or `Vary` the BFF has set already. */
export function applyResponseHeaders(res: ServerResponse, headers: Record<string, string | string[]>): void {
  for (const [name, value] of Object.entries(headers)) {
    // The BFF may already have set these (a refreshed session cookie, Vary: Origin): add, do not replace.
    if (name === "set-cookie" || name === "vary") {
      const existing = res.getHeader(name);
      if (existing !== undefined) {
        res.setHeader(name, ([] as string[]).concat(existing as string | string[], value));
        continue;
      }
    }
    res.setHeader(name, value);
  }
}

/**
 * The relay's CLIENT span: upstream name, method and address; the query
 * string (and so the full URL) is never recorded.
 * @see https://opentelemetry.io/docs/specs/semconv/http/http-spans/#http-client
 */
function startRelaySpan(tracing: Tracing, method: string, target: RelayRequest): TraceSpan {
  const url = new URL(target.origin);
  const span = tracing.startSpan(`${method} ${target.upstreamName}`, "client", {
    "http.request.method": method,
    "server.address": url.hostname,
    "server.port": Number(url.port || (url.protocol === "https:" ? 443 : 80)),
    "bff.upstream": target.upstreamName,
  });
  span.inject(target.headers);
  return span;
}

/**
 * Relays `req` to the upstream through `dispatcher` and streams the answer
 * into `res`. A client that goes away aborts the upstream call.
 *
 * The deadline for the answer's headers is a timer of our own, started here:
 * undici's `headersTimeout` starts only once the request is on a connection,
 * restarts when the request body has been sent, and is checked on a clock that
 * ticks every 499 ms, so `timeoutMs: 1000` fired after up to 1.5 s.
 * undici's `bodyTimeout` (pauses in the answer's body) stays: it may fire up
 * to half a second late, which only delays cutting a stalled body.
 *
 * undici's stream() writes the answer's chunks straight into `res` (with its
 * backpressure) instead of request()'s Readable piped through pipeline(), and
 * the abort signal is a plain EventEmitter, which undici accepts: pipeline()
 * and AbortController each built an AbortController and a DOMException per call,
 * about a tenth of the relay's CPU time in a profile.
 * @returns `answered` when the whole answer was relayed; `client_closed` /
 *   `upstream_closed` when the connection was cut before its end (then `res` has
 *   been destroyed, and nothing else can be said to the client).
 * @throws {BffError} `bad_gateway` / `gateway_timeout` when no answer came (nothing has been sent yet).
 */
export function relay(req: IncomingMessage, res: ServerResponse, dispatcher: Dispatcher, target: RelayRequest): Promise<RelayOutcome> {
  if (!target.tracing?.enabled) return exchange(req, res, dispatcher, target, undefined);
  return tracedExchange(req, res, dispatcher, target, target.tracing);
}

async function tracedExchange(req: IncomingMessage, res: ServerResponse, dispatcher: Dispatcher, target: RelayRequest, tracing: Tracing): Promise<RelayOutcome> {
  const span = startRelaySpan(tracing, req.method ?? "GET", target);
  try {
    const outcome = await exchange(req, res, dispatcher, target, span);
    if (outcome !== "answered") span.fail(outcome);
    return outcome;
  } catch (error) {
    span.fail((error as BffError).code);
    throw error;
  } finally {
    span.end();
  }
}

async function exchange(req: IncomingMessage, res: ServerResponse, dispatcher: Dispatcher, target: RelayRequest, span: TraceSpan | undefined): Promise<RelayOutcome> {
  const abort = new EventEmitter();
  let clientGone = false;
  const onClose = () => {
    // Finished, or destroyed by undici with the upstream's error: the client did not leave.
    if (res.writableFinished || res.errored) return;
    clientGone = true;
    abort.emit("abort");
  };
  res.once("close", onClose);

  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let answered = false;
  let pastDeadline = false;
  const deadline = setTimeout(() => {
    pastDeadline = true;
    abort.emit("abort");
  }, target.timeoutMs);
  try {
    await dispatcher.stream(
      {
        origin: target.origin,
        path: target.path,
        method: req.method as Dispatcher.HttpMethod,
        headers: target.headers,
        body: hasBody(req) ? req : null,
        signal: abort,
        // 0: off; the deadline above covers the headers.
        headersTimeout: 0,
        bodyTimeout: target.timeoutMs,
      },
      ({ statusCode, headers }) => {
        answered = true;
        clearTimeout(deadline);
        target.observe?.(`${Math.floor(statusCode / 100)}xx`, elapsed());
        if (span) {
          span.setAttributes({ "http.response.status_code": statusCode });
          if (statusCode >= 500) span.fail(String(statusCode));
        }
        res.statusCode = statusCode;
        // Only the session step before the call sets cookies on `res`: one here is the re-issued session.
        const sessionCookieSet = res.hasHeader("set-cookie");
        applyResponseHeaders(res, downstreamResponseHeaders(headers, target.passSetCookie, { audience: target.audience, sessionCookieSet }));
        return res;
      },
    );
    return "answered";
  } catch (error) {
    if (clientGone) return "client_closed";
    // After the headers, undici has destroyed `res`: a cut connection is the only honest signal left.
    if (answered) return "upstream_closed";
    const gatewayError = pastDeadline
      ? new BffError("gateway_timeout", { logDetail: `upstream ${target.upstreamName}: deadline of ${target.timeoutMs} ms for the answer's headers` })
      : toGatewayError(error, target.upstreamName);
    target.observe?.(gatewayError.code === "gateway_timeout" ? "timeout" : "error", elapsed());
    throw gatewayError;
  } finally {
    clearTimeout(deadline);
    res.off("close", onClose);
  }
}
