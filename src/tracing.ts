/**
 * Tracing (OpenTelemetry), seen from the rest of the service: a small
 * interface, a no-op that costs a boolean check, and the loader of the real
 * one.
 *
 * Off (no `OTEL_EXPORTER_OTLP_ENDPOINT`, or `OTEL_SDK_DISABLED=true`), the SDK
 * is never loaded: call sites test `tracing.enabled` and do nothing else, and
 * no span object or context is created. On, `./tracing/otel-tracing.js` is
 * imported once, and spans are exported over OTLP/HTTP.
 *
 * Nothing here reads the environment: the settings come from config.ts.
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 */
import type { IncomingHttpHeaders } from "node:http";
import type { TracingConfig } from "./tracing/tracing-config.js";
import type { Logger } from "./log.js";

/** Span attribute values: never a token, cookie, secret or query string. */
export type SpanAttributes = Record<string, string | number | boolean>;

export type SpanKindName = "server" | "client" | "internal";

/** One span, as the service uses it. */
export interface TraceSpan {
  /** 32 hex digits: what the request's log line carries as `trace_id`. */
  readonly traceId: string;
  setAttributes(attributes: SpanAttributes): void;
  updateName(name: string): void;
  /** Status ERROR with `error.type`: a low-cardinality code (an error code, an exception's name, a status), never a message. */
  fail(errorType: string): void;
  /** Writes `traceparent` (and `tracestate`) naming this span as the parent, replacing what was there. */
  inject(headers: Record<string, string | string[]>): void;
  end(): void;
}

export interface Tracing {
  /** False for {@link NO_TRACING}: call sites test it before anything else. */
  readonly enabled: boolean;
  /** The SERVER span of a request, continuing the caller's W3C `traceparent`/`tracestate` when valid. */
  startServerSpan(name: string, headers: IncomingHttpHeaders, attributes: SpanAttributes): TraceSpan;
  /** A child of the active span (a root span when none is active). */
  startSpan(name: string, kind: SpanKindName, attributes: SpanAttributes): TraceSpan;
  /** Runs `fn` with `span` active: the spans and upstream calls it makes descend from it. */
  withSpan<T>(span: TraceSpan, fn: () => T): T;
  /** Exports what is buffered and stops, within its deadline. Never rejects. */
  shutdown(): Promise<void>;
}

const NO_SPAN: TraceSpan = {
  traceId: "",
  setAttributes() {},
  updateName() {},
  fail() {},
  inject() {},
  end() {},
};

/** Tracing off: never called past `enabled`, but safe if it is. */
export const NO_TRACING: Tracing = {
  enabled: false,
  startServerSpan: () => NO_SPAN,
  startSpan: () => NO_SPAN,
  withSpan: (_span, fn) => fn(),
  shutdown: async () => {},
};

/**
 * Runs `work` inside a new child span of the active one, ending it when
 * `work` settles; a failure marks it with `errorType(error)` and is rethrown.
 * Only for `tracing.enabled`: callers skip it (and the closure) when off.
 */
export async function inSpan<T>(
  tracing: Tracing,
  name: string,
  kind: SpanKindName,
  attributes: SpanAttributes,
  work: (span: TraceSpan) => Promise<T>,
  errorType: (error: unknown) => string = errorCodeOf,
): Promise<T> {
  const span = tracing.startSpan(name, kind, attributes);
  try {
    return await tracing.withSpan(span, () => work(span));
  } catch (error) {
    span.fail(errorType(error));
    throw error;
  } finally {
    span.end();
  }
}

/** An error's code from the error table (`BffError.code`) or its class name; never its message. */
export function errorCodeOf(error: unknown): string {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  if (typeof code === "string") return code;
  return typeof name === "string" ? name : "Error";
}

/**
 * Set once the SDK is loaded: writes the active BFF span's trace context into
 * upstream request headers, and answers false when no BFF span is active (a
 * replica with tracing off, a WebSocket upgrade outside any request span).
 * Process-wide on purpose: headers.ts serves the HTTP relay and the WebSocket
 * relay alike, and finds the active span here instead of through every caller.
 */
let injectActive: ((headers: Record<string, string | string[]>) => boolean) | undefined;

/** For the SDK module only. */
export function setActiveInjector(inject: (headers: Record<string, string | string[]>) => boolean): void {
  injectActive = inject;
}

/**
 * Replaces the client's `traceparent`/`tracestate` in `headers` with the active
 * BFF span's, when there is one; otherwise leaves them as they are (tracing
 * off: the client's pass unchanged).
 */
export function injectActiveTraceContext(headers: Record<string, string | string[]>): void {
  if (injectActive === undefined) return;
  const saved = { traceparent: headers.traceparent, tracestate: headers.tracestate };
  delete headers.traceparent;
  delete headers.tracestate;
  if (injectActive(headers)) return;
  if (saved.traceparent !== undefined) headers.traceparent = saved.traceparent;
  if (saved.tracestate !== undefined) headers.tracestate = saved.tracestate;
}

/**
 * Tracing for `config` (`undefined`: off, {@link NO_TRACING}). Loads the SDK
 * only when on. The exporter never blocks a request: spans are batched and
 * sent in the background, and failed exports are logged at most once a minute.
 */
export async function startTracing(config: TracingConfig | undefined, log: Logger): Promise<Tracing> {
  if (!config) return NO_TRACING;
  const { createOtelTracing } = await import("./tracing/otel-tracing.js");
  return createOtelTracing(config, log);
}
