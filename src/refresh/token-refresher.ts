/**
 * The one place where "is it expired, refresh it, classify the failure" lives.
 * It serves the Auth.js `jwt` callback, `GET /token`, `POST /token/refresh` and
 * the proxy alike.
 */
import { createHash } from "node:crypto";
import type { SessionTokens } from "../auth/session-payload.js";
import type { CognitoGateway } from "../cognito/cognito-gateway.js";
import { accessTokenExpiry } from "../cognito/token-expiry.js";
import { BffError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { RefreshCoordinator, RefreshedTokens } from "./refresh-coordinator.js";

export interface RefreshPolicy {
  /** Refresh this many seconds before expiry. */
  skewSeconds: number;
  /** The caller wants at least this many seconds of validity (`min_ttl`). */
  minTtlSeconds?: number;
}

/**
 * Whether the access token must be refreshed before use.
 *
 * The threshold is max(skew, min_ttl), capped at half of the token's lifetime:
 * a `min_ttl` or skew larger than what Cognito issues would otherwise refresh
 * on every request.
 */
export function isRefreshDue(tokens: Pick<SessionTokens, "expires_at" | "issued_at">, nowSeconds: number, policy: RefreshPolicy): boolean {
  const lifetime = Math.max(0, tokens.expires_at - tokens.issued_at);
  const wanted = Math.max(policy.skewSeconds, policy.minTtlSeconds ?? 0);
  const threshold = Math.min(wanted, Math.floor(lifetime / 2));
  return tokens.expires_at - nowSeconds <= threshold;
}

/** A stable, non-reversible key for a refresh token (never the token itself). */
export function refreshTokenKey(refreshToken: string): string {
  return createHash("sha256").update(refreshToken).digest("base64url");
}

export interface EnsureFreshOptions {
  minTtlSeconds?: number;
  /** Refresh even when the token is still valid (`POST /token/refresh`). */
  force?: boolean;
}

export interface EnsureFreshResult {
  tokens: SessionTokens;
  /** True when the tokens differ from the ones passed in (the cookie must be rewritten). */
  changed: boolean;
}

export interface TokenRefresher {
  /** @throws {BffError} `session_expired`, `temporarily_unavailable` or `internal_error`. */
  ensureFresh(tokens: SessionTokens, options?: EnsureFreshOptions): Promise<EnsureFreshResult>;
}

export interface TokenRefresherOptions {
  cognito: CognitoGateway;
  coordinator: RefreshCoordinator;
  /** Epoch milliseconds. */
  now: () => number;
  skewSeconds: number;
  log: Logger;
  metrics: Metrics;
}

export function createTokenRefresher({ cognito, coordinator, now, skewSeconds, log, metrics }: TokenRefresherOptions): TokenRefresher {
  async function refresh(tokens: SessionTokens): Promise<RefreshedTokens> {
    try {
      const result = await cognito.refreshTokens({ refreshToken: tokens.refresh_token, username: tokens.cognito_username });
      const nowSeconds = Math.floor(now() / 1000);
      const expiresAt = accessTokenExpiry(result.accessToken, result.expiresInSeconds, nowSeconds);
      if (expiresAt === undefined) {
        throw new BffError("temporarily_unavailable", { logDetail: "refresh answered an access token without exp and without ExpiresIn", retryAfterSeconds: 2 });
      }
      const next: RefreshedTokens = {
        access_token: result.accessToken,
        refresh_token: result.refreshToken ?? tokens.refresh_token,
        expires_at: expiresAt,
        issued_at: Math.min(nowSeconds, expiresAt),
      };
      if (result.idToken) next.id_token = result.idToken;
      metrics.refreshes.inc({ outcome: "ok" });
      log.info({ user: tokens.cognito_sub, rotated: result.refreshToken !== undefined, expiresIn: expiresAt - nowSeconds }, "tokens refreshed");
      return next;
    } catch (error) {
      metrics.refreshes.inc({ outcome: (error as { code?: string }).code ?? "error" });
      throw error;
    }
  }

  return {
    async ensureFresh(tokens, options = {}) {
      const nowSeconds = Math.floor(now() / 1000);
      const due = options.force || isRefreshDue(tokens, nowSeconds, { skewSeconds, minTtlSeconds: options.minTtlSeconds });
      if (!due) return { tokens, changed: false };

      const { tokens: refreshed, via } = await coordinator.refresh(refreshTokenKey(tokens.refresh_token), () => refresh(tokens));
      if (via !== "performed") metrics.coalesced.inc({ via });
      // Only the fields that came from Cognito are taken from the shared result:
      // a waiter keeps its own session's other claims.
      const merged: SessionTokens = {
        ...tokens,
        access_token: refreshed.access_token,
        refresh_token: refreshed.refresh_token,
        expires_at: refreshed.expires_at,
        issued_at: refreshed.issued_at,
      };
      if (refreshed.id_token) merged.id_token = refreshed.id_token;
      return { tokens: merged, changed: true };
    },
  };
}
