import type { Express } from "express";
import type { Metrics } from "../metrics.js";
import type { RefreshCoordinator } from "../refresh/refresh-coordinator.js";

export interface HealthOptions {
  coordinator: RefreshCoordinator;
  metrics: Metrics;
}

/**
 * `GET /healthz`: the process is alive. `GET /readyz`: per-dependency detail;
 * Redis being down degrades coordination to in-process but does not make the
 * service unready (it keeps serving). `GET /metrics`: Prometheus text.
 */
export function mountHealthRoutes(app: Express, { coordinator, metrics }: HealthOptions): void {
  app.get("/healthz", (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const coordination = coordinator.status();
    res.setHeader("Cache-Control", "no-store");
    res.json({
      status: "ok",
      checks: {
        refresh_coordination: {
          status: coordination.redis === "down" ? "degraded" : "ok",
          mode: coordination.mode,
          ...(coordination.redis ? { redis: coordination.redis } : {}),
        },
      },
    });
  });
  app.get("/metrics", async (_req, res) => {
    res.setHeader("Content-Type", metrics.registry.contentType);
    res.setHeader("Cache-Control", "no-store");
    res.send(await metrics.registry.metrics());
  });
}
