/**
 * Prometheus metrics (prom-client). One registry per app, so tests and several
 * apps in one process never share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { droppedStdoutLogLines } from "./log-destination.js";

export interface Metrics {
  readonly registry: Registry;
  /** Cognito refreshes by outcome (`ok` or an error code). */
  readonly refreshes: Counter<"outcome">;
  /** Requests served by another request's refresh: `in_process`, `redis` (another replica), `late` (result cache). */
  readonly coalesced: Counter<"via">;
  /** Time a request waited for another holder's refresh. */
  readonly lockWait: Histogram;
  /**
   * Refresh lock holders that found their lease gone (a stall longer than the lease: SIGSTOP, a long GC
   * pause) when renewing or publishing: another replica may have refreshed the same token meanwhile.
   */
  readonly leaseLost: Counter;
  /** Cognito API calls by operation and outcome, with latency. */
  readonly cognitoCalls: Histogram<"operation" | "outcome">;
  /** 1 while Redis is configured but unreachable. */
  readonly redisUnavailable: Gauge;
  /** Times the service fell back to in-process coordination because Redis failed. */
  readonly redisFailures: Counter<"operation">;
  /** Answered HTTP requests by route pattern (never the raw path), method and status, with latency. */
  readonly httpRequests: Histogram<"route" | "method" | "status">;
  /** Failed Cognito API calls by operation and error code (the SDK error name). */
  readonly cognitoErrors: Counter<"operation" | "code">;
  /** Refresh tokens Cognito did not revoke, by reason (`sign-out`, `admin-revocation`) and error code. */
  readonly revocationFailures: Counter<"reason" | "code">;
  /** Relayed requests by upstream name and answer class (`2xx`…`5xx`, or `error`/`timeout` when none came). */
  readonly upstreamRequests: Counter<"upstream" | "status_class">;
  /** Time an upstream took to answer a relayed request, by upstream name. */
  readonly upstreamDuration: Histogram<"upstream">;
  /** 1 while a dependency checked by `/readyz` (cognito, redis) answers, 0 while it does not. */
  readonly dependencyUp: Gauge<"dependency">;
  /** Log lines the process dropped because stdout was blocked and its buffer full (read from the stdout writer at each scrape). */
  readonly logDroppedLines: Counter;
  /** WebSockets relayed and open now, by upstream name (their handshakes are counted in {@link upstreamRequests}, `1xx`). */
  readonly websocketsOpen: Gauge<"upstream">;
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Creates the registry and every metric of the service; `processMetrics` adds
 * prom-client's default process and Node.js metrics (the server turns it on;
 * tests building many apps leave it off).
 */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    refreshes: new Counter({ name: "bff_refreshes_total", help: "Cognito token refreshes performed, by outcome", labelNames: ["outcome"], registers: [registry] }),
    coalesced: new Counter({
      name: "bff_refresh_coalesced_total",
      help: "Requests that got the result of a refresh performed for another request",
      labelNames: ["via"],
      registers: [registry],
    }),
    lockWait: new Histogram({
      name: "bff_refresh_lock_wait_seconds",
      help: "Time spent waiting for a refresh held by another request or replica",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    leaseLost: new Counter({
      name: "bff_refresh_lease_lost_total",
      help: "Refresh lock holders whose lease ran out before they renewed it or published their result (a stall longer than the lease)",
      registers: [registry],
    }),
    cognitoCalls: new Histogram({
      name: "bff_cognito_call_duration_seconds",
      help: "Cognito API calls, by operation and outcome (ok or the error name)",
      labelNames: ["operation", "outcome"],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    redisUnavailable: new Gauge({ name: "bff_redis_unavailable", help: "1 while Redis is configured but unreachable", registers: [registry] }),
    redisFailures: new Counter({
      name: "bff_redis_failures_total",
      help: "Redis operations that failed, after which the service fell back to in-process coordination",
      labelNames: ["operation"],
      registers: [registry],
    }),
    httpRequests: new Histogram({
      name: "bff_http_request_duration_seconds",
      help: "HTTP requests answered, by route pattern, method and status",
      labelNames: ["route", "method", "status"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    cognitoErrors: new Counter({
      name: "bff_cognito_errors_total",
      help: "Failed Cognito API calls, by operation and error code",
      labelNames: ["operation", "code"],
      registers: [registry],
    }),
    revocationFailures: new Counter({
      name: "bff_revocation_failures_total",
      help: "Refresh tokens that Cognito did not revoke (they stay valid until they expire), by reason (sign-out, admin-revocation) and error code",
      labelNames: ["reason", "code"],
      registers: [registry],
    }),
    upstreamRequests: new Counter({
      name: "bff_upstream_requests_total",
      help: "Requests relayed to an upstream, by upstream and answer class (2xx..5xx, error, timeout)",
      labelNames: ["upstream", "status_class"],
      registers: [registry],
    }),
    upstreamDuration: new Histogram({
      name: "bff_upstream_duration_seconds",
      help: "Time an upstream took to answer a relayed request",
      labelNames: ["upstream"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    dependencyUp: new Gauge({
      name: "bff_dependency_up",
      help: "1 while a dependency checked by /readyz answers, 0 while it does not",
      labelNames: ["dependency"],
      registers: [registry],
    }),
    logDroppedLines: logDroppedLinesCounter(registry),
    websocketsOpen: new Gauge({
      name: "bff_websockets_open",
      help: "WebSockets relayed to an upstream and open now, by upstream",
      labelNames: ["upstream"],
      registers: [registry],
    }),
  };
}

/**
 * `bff_log_dropped_lines_total`: the stdout writer counts its drops (it runs below the metrics, one per
 * process); each scrape adds what it dropped since the last one.
 */
function logDroppedLinesCounter(registry: Registry): Counter {
  let counted = 0;
  return new Counter({
    name: "bff_log_dropped_lines_total",
    help: "Log lines dropped because stdout was blocked (nothing read it) and the log buffer was full",
    registers: [registry],
    collect() {
      const dropped = droppedStdoutLogLines();
      if (dropped > counted) this.inc(dropped - counted);
      counted = dropped;
    },
  });
}

/**
 * The Cognito gateway's call observer feeding {@link Metrics.cognitoCalls} and
 * {@link Metrics.cognitoErrors}; it only ever sees operation names and error codes.
 */
export function observeCognitoCalls(metrics: Metrics): (operation: string, outcome: string, durationMs: number) => void {
  return (operation, outcome, durationMs) => {
    metrics.cognitoCalls.observe({ operation, outcome }, durationMs / 1000);
    if (outcome !== "ok") metrics.cognitoErrors.inc({ operation, code: outcome });
  };
}

/** The request logger's observer feeding {@link Metrics.httpRequests}. */
export function observeHttpRequests(metrics: Metrics): (route: string, method: string, status: number, seconds: number) => void {
  const histogram = metrics.httpRequests;
  return (route, method, status, seconds) => histogram.observe({ route, method, status }, seconds);
}

/** One call to an upstream, HTTP or a WebSocket handshake: {@link Metrics.upstreamRequests} and {@link Metrics.upstreamDuration}. */
export function observeUpstreamCall(metrics: Metrics, upstream: string, statusClass: string, seconds: number): void {
  metrics.upstreamRequests.inc({ upstream, status_class: statusClass });
  metrics.upstreamDuration.observe({ upstream }, seconds);
}
