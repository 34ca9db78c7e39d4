/**
 * `GET /auth/sessions` and `DELETE /auth/sessions/{id}`: the signed-in user's
 * own sessions ("sign out that device"), where the session store can list
 * them (SESSION_STORE=redis). Browser calls, under the same X-CSRF and Origin
 * rules as `/token`.
 */
import type { Express, Request, RequestHandler } from "express";
import type { SessionDirectory, SessionStore } from "../auth/session-store.js";
import { BffError } from "../errors.js";

export interface SessionRouteOptions {
  sessions: SessionStore;
  directory: SessionDirectory;
  guard: RequestHandler;
  /** Ends what the store's deletion does not: the session id everywhere, and the refresh token at Cognito. */
  afterEnd: (ended: { sid: string; refreshToken: string | undefined; sub: string }) => Promise<void>;
}

/** A session id as this service makes them: 22 base64url characters. */
const SESSION_ID = /^[\w-]{22}$/;

export function mountSessionRoutes(app: Express, { sessions, directory, guard, afterEnd }: SessionRouteOptions): void {
  async function signedIn(req: Request) {
    const { session, cookieNames } = await sessions.read(req.headers.cookie);
    if (!session) throw new BffError("unauthenticated");
    return { session, cookieNames };
  }

  app.get("/auth/sessions", guard, async (req, res) => {
    const { session } = await signedIn(req);
    const list = await directory.list(session.cognito_sub);
    res.setHeader("Cache-Control", "no-store");
    res.json({
      sessions: list
        .sort((a, b) => b.lastUsed - a.lastUsed)
        .map((entry) => ({
          id: entry.sid,
          created_at: entry.created,
          last_used_at: entry.lastUsed,
          ...(entry.userAgent ? { user_agent: entry.userAgent } : {}),
          current: entry.sid === session.sid,
        })),
    });
  });

  app.delete("/auth/sessions/:id", guard, async (req, res) => {
    const id = String(req.params.id);
    if (!SESSION_ID.test(id)) throw new BffError("not_found", { description: "No such session." });
    const { session, cookieNames } = await signedIn(req);
    const [ended] = await directory.end(session.cognito_sub, [id]);
    if (!ended) throw new BffError("not_found", { description: "No such session." });
    await afterEnd({ ...ended, sub: session.cognito_sub });
    if (id === session.sid) res.append("Set-Cookie", sessions.clear(cookieNames));
    res.setHeader("Cache-Control", "no-store");
    res.status(204).end();
  });

  app.options(["/auth/sessions", "/auth/sessions/:id"], guard);
}
