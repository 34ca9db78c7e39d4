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
import { inSpan, NO_TRACING, type Tracing } from "../tracing.js";
import type { RefreshCoordinator, RefreshedTokens, RefreshOutcome } from "./refresh-coordinator.js";

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

/** `REFRESH_MIN_INTERVAL_SECONDS`'s default: a forced refresh of a token younger than this returns that token. */
export const DEFAULT_REFRESH_MIN_INTERVAL_SECONDS = 10;

/**
 * Whether Cognito issued `result` after `current`: a later `issued_at`, or the
 * same second with a later expiry. A result equal to the caller's own token never is.
 */
export function isIssuedAfter(result: Pick<SessionTokens, "access_token" | "expires_at" | "issued_at">, current: Pick<SessionTokens, "access_token" | "expires_at" | "issued_at">): boolean {
  if (result.access_token === current.access_token) return false;
  return result.issued_at > current.issued_at || (result.issued_at === current.issued_at && result.expires_at > current.expires_at);
}

/**
 * Whether a refresh result someone else obtained (a concurrent request, another
 * replica, the result cache) can answer a caller holding `current`: it must be
 * newer than the caller's token and have enough life left for the caller's
 * policy. A result that fails this test is never handed out; a new refresh runs instead.
 */
export function isAcceptableResult(result: RefreshedTokens, current: SessionTokens, nowSeconds: number, policy: RefreshPolicy): boolean {
  return isIssuedAfter(result, current) && !isRefreshDue(result, nowSeconds, policy);
}

/** A stable, non-reversible key for a refresh token (never the token itself). */
export function refreshTokenKey(refreshToken: string): string {
  return createHash("sha256").update(refreshToken).digest("base64url");
}

export interface EnsureFreshOptions {
  minTtlSeconds?: number;
  /**
   * Return a token Cognito issued after this one even when it is still valid
   * (`POST /token/refresh`), unless it is younger than the minimum interval.
   */
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
  /**
   * `REFRESH_MIN_INTERVAL_SECONDS`: a forced refresh of a token younger than this returns the token
   * itself, so one session makes at most one forced Cognito call per interval.
   */
  minIntervalSeconds?: number;
  log: Logger;
  metrics: Metrics;
  /** With tracing on, each coordinated refresh is a span saying how this request got its tokens. */
  tracing?: Tracing;
}

/**
 * The refresh coordination as a span, `bff.refresh.via` saying how this request
 * got its tokens: `performed` (it called Cognito: the Cognito span is its
 * child), `in_process` / `redis` (it waited for another request's or replica's
 * refresh), `late` (a result stored moments ago answered it).
 */
function traceRefresh(tracing: Tracing, coordinator: RefreshCoordinator, forced: boolean, coordinate: () => Promise<RefreshOutcome>): Promise<RefreshOutcome> {
  const attributes = { "bff.refresh.forced": forced, "bff.refresh.coordination": coordinator.status().mode };
  return inSpan(tracing, "refresh tokens", "internal", attributes, async (span) => {
    const outcome = await coordinate();
    span.setAttributes({ "bff.refresh.via": outcome.via });
    return outcome;
  });
}

export function createTokenRefresher({
  cognito,
  coordinator,
  now,
  skewSeconds,
  minIntervalSeconds = DEFAULT_REFRESH_MIN_INTERVAL_SECONDS,
  log,
  metrics,
  tracing = NO_TRACING,
}: TokenRefresherOptions): TokenRefresher {
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
      // Stryker disable next-line ConditionalExpression: an undefined id_token reads as none everywhere (the merge in ensureFresh, JSON).
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
      const policy: RefreshPolicy = { skewSeconds, minTtlSeconds: options.minTtlSeconds };
      if (!isRefreshDue(tokens, nowSeconds, policy)) {
        // Forcing a token this young would let one session spend the pool's Cognito quota in a loop.
        if (!options.force || nowSeconds - tokens.issued_at < minIntervalSeconds) return { tokens, changed: false };
      }

      // Someone else's result (a concurrent request, another replica, the result cache) answers only when it is
      // newer than this caller's token and lives long enough for it: forced means new, and never an expired token.
      const acceptable = (result: RefreshedTokens) => isAcceptableResult(result, tokens, Math.floor(now() / 1000), policy);
      const coordinate = () => coordinator.refresh(refreshTokenKey(tokens.refresh_token), () => refresh(tokens), acceptable);
      const { tokens: refreshed, via } = tracing.enabled ? await traceRefresh(tracing, coordinator, options.force === true, coordinate) : await coordinate();
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
