/// <reference lib="dom" />
/**
 * The access token as the client holds it, and the parsing of `GET /token`
 * answers. Expiry is tracked on the browser's own clock: the BFF says how many
 * seconds the token has left (`expires_in`), so the browser's clock skew
 * (a laptop minutes off, a VM resumed from sleep) never makes the client keep
 * an expired token or refresh a fresh one.
 */
import { BffClientError } from "./errors.js";

/** An access token held in memory. */
export interface AccessToken {
  readonly accessToken: string;
  readonly tokenType: "Bearer";
  /** Expiry on the server's clock, epoch seconds (the token's `exp`). */
  readonly expiresAt: number;
  /** Expiry on the browser's clock, epoch milliseconds: what every "enough life left?" decision uses. */
  readonly localExpiresAt: number;
  /** Server clock minus browser clock, milliseconds (to within a second plus the request's latency). */
  readonly clockSkewMs: number;
  readonly scope?: string;
}

/**
 * Reads a `GET /token` body. `sentAt` is the browser time the request was sent:
 * the server measured `expires_in` after that moment, and `expires_in` is
 * rounded down to whole seconds, so `sentAt + (expires_in - 1) s` never
 * overestimates the token's life on the browser's clock.
 * @throws {BffClientError} `invalid_response` when a field is missing or malformed.
 */
export function parseTokenResponse(body: unknown, sentAt: number): AccessToken {
  const fields = body && typeof body === "object" ? (body as Record<string, unknown>) : {};
  const { access_token, token_type, expires_at, expires_in, scope } = fields;
  if (typeof access_token !== "string" || access_token === "") throw invalid("access_token");
  if (typeof token_type !== "string" || token_type.toLowerCase() !== "bearer") throw invalid("token_type");
  if (typeof expires_at !== "number" || !Number.isFinite(expires_at)) throw invalid("expires_at");
  if (typeof expires_in !== "number" || !Number.isFinite(expires_in) || expires_in < 0) throw invalid("expires_in");
  if (scope !== undefined && typeof scope !== "string") throw invalid("scope");

  const localExpiresAt = sentAt + Math.max(0, expires_in - 1) * 1000;
  const token: AccessToken = {
    accessToken: access_token,
    tokenType: "Bearer",
    expiresAt: expires_at,
    localExpiresAt,
    clockSkewMs: expires_at * 1000 - localExpiresAt,
    ...(scope ? { scope } : {}),
  };
  return token;
}

function invalid(field: string): BffClientError {
  return new BffClientError("invalid_response", `The BFF's /token answer has no valid ${field}.`);
}

/** Seconds of life the token has left on the browser's clock at `now` (epoch ms); never negative. */
export function secondsLeft(token: AccessToken, now: number): number {
  return Math.max(0, (token.localExpiresAt - now) / 1000);
}

/** True when the token still has more than `minTtlSeconds` of life at `now`. */
export function hasLifeLeft(token: AccessToken | undefined, minTtlSeconds: number, now: number): token is AccessToken {
  return token !== undefined && token.localExpiresAt - now > minTtlSeconds * 1000;
}

/** A token other tabs sent over BroadcastChannel, checked like a server answer. */
export function parseSharedToken(value: unknown): AccessToken | undefined {
  if (!value || typeof value !== "object") return undefined;
  const t = value as Record<string, unknown>;
  if (typeof t.accessToken !== "string" || typeof t.expiresAt !== "number" || typeof t.localExpiresAt !== "number") return undefined;
  if (typeof t.clockSkewMs !== "number" || (t.scope !== undefined && typeof t.scope !== "string")) return undefined;
  return {
    accessToken: t.accessToken,
    tokenType: "Bearer",
    expiresAt: t.expiresAt,
    localExpiresAt: t.localExpiresAt,
    clockSkewMs: t.clockSkewMs,
    ...(typeof t.scope === "string" ? { scope: t.scope } : {}),
  };
}
