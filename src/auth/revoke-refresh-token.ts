/**
 * Revoking a session's refresh token at Cognito (sign-out, administrative
 * revocation), with the outcome logged and counted in one place.
 *
 * A revocation that fails leaves the refresh token valid at Cognito for the
 * rest of its lifetime (30 days by default), whatever the BFF does with its
 * own session, so every failure is an error in the log and in
 * `bff_revocation_failures_total`. `UnsupportedOperationException` means token
 * revocation is turned off on the app client (`EnableTokenRevocation`).
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RevokeToken.html
 */
import type { CognitoGateway } from "../cognito/cognito-gateway.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";

export type RevocationReason = "sign-out" | "admin-revocation";

/** Resolves true when Cognito revoked the token; never rejects. */
export type RevokeRefreshToken = (refreshToken: string, context: { user: string; reason: RevocationReason }) => Promise<boolean>;

/** The exception or error code behind a failed call (a label value: a name, never a message). */
function failureCode(error: unknown): string {
  const cause = (error as { cause?: { name?: unknown; code?: unknown } } | null)?.cause;
  const name = typeof cause?.code === "string" ? cause.code : cause?.name;
  if (typeof name === "string" && /^\w{1,64}$/.test(name)) return name;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "unknown";
}

const HINTS: Record<string, string> = {
  UnsupportedOperationException: "token revocation is off on the app client: turn on EnableTokenRevocation (Cognito console: app client > Advanced > token revocation)",
};

export function createRefreshTokenRevoker({ cognito, log, metrics }: { cognito: CognitoGateway; log: Logger; metrics: Metrics }): RevokeRefreshToken {
  return async (refreshToken, { user, reason }) => {
    try {
      await cognito.revokeToken(refreshToken);
      log.info({ user, reason }, "refresh token revoked at Cognito");
      return true;
    } catch (error) {
      const code = failureCode(error);
      metrics.revocationFailures.inc({ reason, code });
      const detail = (error as { logDetail?: unknown } | null)?.logDetail;
      log.error(
        { user, reason, code, detail: typeof detail === "string" ? detail : undefined, hint: HINTS[code] },
        "refresh token NOT revoked at Cognito: it stays valid until it expires",
      );
      return false;
    }
  };
}
