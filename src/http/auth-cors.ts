/**
 * CORS (with credentials) on the two Auth.js reads an SPA on another origin
 * needs: `GET /auth/csrf` (the token its sign-in and sign-out form posts
 * carry) and `GET /auth/session` (who is signed in). Both are simple GETs
 * without custom headers, so no preflight is involved. Only the allowed SPA
 * origins get CORS headers; for any other origin the browser keeps the answer
 * from the page. Sign-in and sign-out themselves stay top-level form posts
 * protected by Auth.js's own CSRF check.
 */
import type { RequestHandler } from "express";

/** The paths, under the `/auth` mount, that allowed SPA origins may read. */
export const AUTH_READABLE_PATHS: string[] = ["/auth/csrf", "/auth/session"];

/** CORS for {@link AUTH_READABLE_PATHS}; mount with `app.get(AUTH_READABLE_PATHS, authCors(...))` before Auth.js. */
export function authCors(allowedOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(allowedOrigins);
  return (req, res, next) => {
    res.vary("Origin");
    const origin = req.headers.origin;
    if (origin !== undefined && allowed.has(origin)) {
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Access-Control-Allow-Credentials", "true");
    }
    next();
  };
}
