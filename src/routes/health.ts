import { Router } from "express";

/** `GET /healthz`: the process is alive and serving HTTP. */
export function healthRoutes(): Router {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.setHeader("Cache-Control", "no-store");
    res.json({ status: "ok" });
  });
  return router;
}
