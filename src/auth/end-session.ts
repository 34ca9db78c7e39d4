/**
 * Sign-out: everything that ends a session, in the order that closes it
 * fastest. First the session id is revoked (every copy of the cookie, on every
 * replica, is refused from then on) and the stored session deleted (Redis
 * store), then any refresh result still cached for its refresh token is dropped
 * (a copy could otherwise pick it up), and last the refresh token is revoked at
 * Cognito, the slow step that may fail.
 *
 * "Everywhere" ends every session of the user: all of them are revoked on every
 * replica (as an administrator's revocation does), the Redis store deletes the
 * stored ones, and Cognito revokes all of the user's refresh tokens with
 * `GlobalSignOut`, which needs the access token's `aws.cognito.signin.user.admin`
 * scope. Without it, each refresh token the BFF can reach is revoked with
 * `RevokeToken`: this session's, and in the Redis store every stored one; in the
 * cookie store the others are revoked at Cognito when their cookies next show up.
 */
import type { CognitoGateway } from "../cognito/cognito-gateway.js";
import type { Logger } from "../log.js";
import type { RefreshCoordinator } from "../refresh/refresh-coordinator.js";
import { refreshTokenKey } from "../refresh/token-refresher.js";
import type { Revocations } from "./revocations.js";
import type { RevokeRefreshToken } from "./revoke-refresh-token.js";
import type { SessionPayload } from "./session-payload.js";
import type { SessionStore } from "./session-store.js";

export type EndSession = (session: SessionPayload) => Promise<void>;

export interface SessionEnderDeps {
  sessions: Pick<SessionStore, "end" | "directory">;
  revocations: Pick<Revocations, "revokeSession" | "revokeUser">;
  coordinator: Pick<RefreshCoordinator, "forget">;
  revokeRefreshToken: RevokeRefreshToken;
  cognito: Pick<CognitoGateway, "globalSignOut">;
  log: Logger;
  /** Whether the sign-out being handled asked for every session of the user (the `everywhere` form field). */
  everywhere: () => boolean;
}

export function createSessionEnder(deps: SessionEnderDeps): EndSession {
  const { sessions, revocations, coordinator, revokeRefreshToken, cognito, log } = deps;

  async function endOne(session: SessionPayload): Promise<void> {
    // A cookie from before session ids has none; it gets one at its next re-issue.
    if (session.sid) await revocations.revokeSession(session.sid);
    await sessions.end(session);
    await coordinator.forget(refreshTokenKey(session.refresh_token));
  }

  async function endEverywhere(session: SessionPayload): Promise<void> {
    const user = session.cognito_sub;
    await revocations.revokeUser(user).catch((error: unknown) =>
      log.warn({ user, detail: (error as { logDetail?: string }).logDetail }, "sign-out everywhere: the revocation holds on this replica until redis is back"),
    );
    await endOne(session);
    const stored = (await sessions.directory?.end(user)) ?? [];
    try {
      await cognito.globalSignOut(session.access_token);
      log.info({ user }, "sign-out everywhere: every refresh token of the user revoked at Cognito (GlobalSignOut)");
      return;
    } catch (error) {
      log.warn(
        { user, detail: (error as { logDetail?: string }).logDetail },
        "sign-out everywhere: GlobalSignOut refused (the access token needs the aws.cognito.signin.user.admin scope); revoking each known refresh token instead",
      );
    }
    const tokens = new Set([session.refresh_token, ...stored.flatMap((s) => (s.refreshToken ? [s.refreshToken] : []))]);
    await Promise.all([...tokens].map((token) => revokeRefreshToken(token, { user, reason: "sign-out" })));
  }

  return async (session) => {
    if (deps.everywhere()) return endEverywhere(session);
    await endOne(session);
    await revokeRefreshToken(session.refresh_token, { user: session.cognito_sub, reason: "sign-out" });
  };
}
