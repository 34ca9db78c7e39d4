/**
 * `POST /admin/users/{sub}/sessions/revoke`: ends every session of a Cognito
 * user (by `sub`) signed in up to now, on every replica sharing the Redis.
 *
 * Server-to-server: authenticated by `Authorization: Bearer <ADMIN_SECRET>`
 * (compared in constant time), not by a session, so the browser CSRF/Origin
 * rules do not apply and no CORS is offered. Mounted only when ADMIN_SECRET is
 * set; otherwise the path is a 404 like any unknown one.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Express, RequestHandler } from "express";
import type { Revocations } from "../auth/revocations.js";
import { BffError } from "../errors.js";

export interface AdminRouteOptions {
  adminSecret: string;
  revocations: Revocations;
  /** Whether the revocation reaches other replicas (REDIS_URL set). */
  shared: boolean;
}

/** A Cognito `sub` is a UUID; anything outside this shape is not a user id. */
const SUB_PATTERN = /^[\w-]{1,128}$/;

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Hashing first gives equal lengths, so the comparison time does not depend on the secret's length or content. */
export function requireBearer(secret: string): RequestHandler {
  const expected = digest(`Bearer ${secret}`);
  return (req, res, next) => {
    const given = digest(req.headers.authorization ?? "");
    if (timingSafeEqual(given, expected)) return next();
    res.setHeader("WWW-Authenticate", 'Bearer realm="admin"');
    next(new BffError("unauthenticated", { description: "Authentication required.", logDetail: "admin endpoint: missing or wrong bearer secret" }));
  };
}

export function mountAdminRoutes(app: Express, { adminSecret, revocations, shared }: AdminRouteOptions): void {
  const path = "/admin/users/:sub/sessions/revoke";
  app.post(path, requireBearer(adminSecret), async (req, res) => {
    const sub = String(req.params.sub);
    if (!SUB_PATTERN.test(sub)) {
      throw new BffError("invalid_request", { description: "The user id must be a Cognito sub (letters, digits, _ and -)." });
    }
    const revokedAt = await revocations.revokeUser(sub);
    res.setHeader("Cache-Control", "no-store");
    res.json({ sub, revoked_at: revokedAt, scope: shared ? "all_replicas" : "this_replica" });
  });
  app.all(path, requireBearer(adminSecret), () => {
    throw new BffError("method_not_allowed");
  });
}
