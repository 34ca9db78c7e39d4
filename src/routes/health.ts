/**
 * Operations endpoints: `GET /healthz` (the process is alive), `GET /readyz`
 * (it can serve: per-dependency detail, 503 when not ready) and `GET /metrics`
 * (Prometheus text format).
 */
import type { Express } from "express";
import type { Readiness } from "../health/readiness.js";
import type { Metrics } from "../metrics.js";
import type { RefreshCoordinator } from "../refresh/refresh-coordinator.js";

export interface HealthOptions {
  readiness: Readiness;
  coordinator: RefreshCoordinator;
  metrics: Metrics;
}

/** `/healthz`: the process is alive (liveness; nothing checked). Served on every listener. */
export function mountLivenessRoute(app: Express): void {
  app.get("/healthz", (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.json({ status: "ok" });
  });
}

/** Mounts `/readyz` and `/metrics` on the app: the public one, or the internal listener's when there is one. */
export function mountHealthRoutes(app: Express, { readiness, coordinator, metrics }: HealthOptions): void {
  app.get("/readyz", async (_req, res) => {
    const report = await readiness.check();
    // Which coordination the refreshes use right now: `local` when Redis is not configured or down.
    const { mode, redis } = coordinator.status();
    const coordination = mode === "redis" && redis === "up" && report.checks.redis.status === "up" ? "redis" : "local";
    report.checks.redis.coordination = coordination;
    res.setHeader("Cache-Control", "no-store");
    res.status(report.status === "ready" ? 200 : 503).json(report);
  });
  app.get("/metrics", async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.setHeader("Content-Type", metrics.registry.contentType);
    res.setHeader("Cache-Control", "no-store");
    res.send(body);
  });
}
