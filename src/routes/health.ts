import type { Express } from "express";

/** `GET /healthz`: the process is alive and serving HTTP. */
export function mountHealthRoutes(app: Express): void {
  app.get("/healthz", (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.json({ status: "ok" });
  });
}
