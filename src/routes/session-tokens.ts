/**
 * The step `/token` and the relay share: read the session from the Cookie
 * header, refresh it when due (through the one refresher and its
 * single-flight), and queue the updated cookie on the response.
 */
import type { Request, Response } from "express";
import type { SessionPayload } from "../auth/session-payload.js";
import type { SessionStore } from "../auth/session-store.js";
import type { EnsureFreshOptions, TokenRefresher } from "../refresh/token-refresher.js";

export interface SessionTokenDeps {
  sessions: SessionStore;
  refresher: TokenRefresher;
}

/**
 * The request's session with tokens fresh for `options`, or null when there
 * is no usable session. Appends `Set-Cookie` when the tokens changed or the
 * cookie is due for renewal.
 * @throws {BffError} from the refresher: `session_expired`, `temporarily_unavailable`, `internal_error`.
 */
export async function readFreshSession(
  req: Request,
  res: Response,
  { sessions, refresher }: SessionTokenDeps,
  options: EnsureFreshOptions = {},
): Promise<SessionPayload | null> {
  const { session, cookieNames } = await sessions.read(req.headers.cookie);
  if (!session) return null;
  const { tokens, changed } = await refresher.ensureFresh(session, options);
  const current: SessionPayload = changed ? { ...session, ...tokens } : session;
  if (changed || sessions.isRenewalDue(current)) {
    // Node's appendHeader rather than Express's res.append: the fast lane's responses are plain Node ones.
    res.appendHeader("Set-Cookie", await sessions.write(current, cookieNames, { userAgent: req.headers["user-agent"] }));
  }
  return current;
}
