/**
 * Prometheus metrics (prom-client). One registry per app, so tests and several
 * apps in one process never share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  readonly registry: Registry;
  /** Cognito refreshes by outcome (`ok` or an error code). */
  readonly refreshes: Counter<"outcome">;
  /** Requests served by another request's refresh: `in_process`, `redis` (another replica), `late` (result cache). */
  readonly coalesced: Counter<"via">;
  /** Time a request waited for another holder's refresh. */
  readonly lockWait: Histogram;
  /** Cognito API calls by operation and outcome, with latency. */
  readonly cognitoCalls: Histogram<"operation" | "outcome">;
  /** 1 while Redis is configured but unreachable. */
  readonly redisUnavailable: Gauge;
  /** Times the service fell back to in-process coordination because Redis failed. */
  readonly redisFailures: Counter<"operation">;
}

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
  };
}
