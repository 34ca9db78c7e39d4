/**
 * Administrative revocation: "every session of this Cognito user that signed
 * in at or before T has ended", even though its cookie is still
 * cryptographically valid.
 *
 * The decision on the hot path is a Map lookup (`sub` -> T, epoch seconds),
 * never a Redis round-trip. With Redis, the map is shared across replicas:
 * - a revocation is written to the hash `<prefix>revocations` (field: sub,
 *   value: T) and announced on the channel `<prefix>revoked`, so every replica
 *   updates its map at once;
 * - every replica reloads the hash at start-up, whenever Redis becomes ready
 *   again (notices sent while it was away are lost), and every
 *   `resyncIntervalMs` as a safety net.
 * One hash instead of one key per user: a resync is one HGETALL, not a SCAN
 * of the whole keyspace. A revocation matters for `ttlSeconds` (the session
 * max age: a revoked cookie can no longer be re-issued, so it dies by then);
 * older fields are pruned by the resync.
 *
 * Without Redis the map is this process's own: revocation covers one replica.
 */
import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { LRUCache } from "lru-cache";
import { BffError } from "../errors.js";
import type { Logger } from "../log.js";
import type { RevokeRefreshToken } from "./revoke-refresh-token.js";
import type { SessionPayload } from "./session-payload.js";

export interface RevocationCheck {
  /**
   * Ends a revoked session: throws 401 `session_expired` (the error handler
   * clears the cookies) and, once per refresh token, revokes it at Cognito.
   * @throws {BffError} `session_expired` when the session is revoked.
   */
  assertActive(session: SessionPayload): void;
  /** True when the session signed in at or before its user's revocation time (no side effects). */
  isRevoked(session: Pick<SessionPayload, "cognito_sub" | "signed_in_at">): boolean;
}

export interface Revocations extends RevocationCheck {
  /**
   * Revokes every session of `sub` signed in up to now; returns the revocation time (epoch seconds).
   * @throws {BffError} `temporarily_unavailable` when Redis is configured but the write failed (only this replica knows).
   */
  revokeUser(sub: string): Promise<number>;
  /** Reloads the shared map from Redis (no-op without Redis). */
  resync(): Promise<void>;
  close(): Promise<void>;
}

export interface RevocationsOptions {
  /** Epoch milliseconds. */
  now: () => number;
  /** How long a revocation is kept: the session max age. */
  ttlSeconds: number;
  log: Logger;
  /** Best-effort revocation of a revoked session's refresh token at Cognito (it logs and counts the outcome). */
  revokeRefreshToken: RevokeRefreshToken;
  redis?: { redis: Redis; subscriber: Redis; keyPrefix: string };
  /** Default 30 s. */
  resyncIntervalMs?: number;
}

/** Deletes a field only if it still holds the value the resync saw (a newer revocation is never pruned). */
const PRUNE_SCRIPT = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0`;

/** Clock skew between replicas and the codec's 15 s tolerance, on top of the max age. */
const TTL_MARGIN_SECONDS = 60;

/** Longest start-up wait for Redis's first answer (ready or error). */
const STARTUP_WAIT_MS = 2000;

/** Resolves when the client is ready, its first connection attempt failed, or `capMs` passed. */
function firstConnectionAttempt(client: Redis, capMs: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timeout);
      client.off("ready", done);
      client.off("error", done);
      resolve();
    };
    const timeout = setTimeout(done, capMs);
    client.once("ready", done);
    client.once("error", done);
  });
}

type ScriptedRedis = Redis & { bffPruneRevocation?: (key: string, field: string, value: string) => Promise<number> };

/**
 * Builds the revocation map and, with Redis, subscribes and loads it.
 * Start-up does not fail when Redis is down: the map is loaded when it comes back.
 */
export async function createRevocations(options: RevocationsOptions): Promise<Revocations> {
  const { now, log, redis } = options;
  const ttlSeconds = options.ttlSeconds + TTL_MARGIN_SECONDS;
  const revokedAt = new Map<string, number>();
  const revokedAtCognito = new LRUCache<string, true>({ max: 10_000 });
  const hashKey = "revocations";
  const channel = `${redis?.keyPrefix ?? ""}revoked`;
  const nowSeconds = () => Math.floor(now() / 1000);

  function remember(sub: string, at: number): void {
    if (at + ttlSeconds <= nowSeconds()) return;
    if ((revokedAt.get(sub) ?? 0) < at) revokedAt.set(sub, at);
  }

  function isRevoked(session: Pick<SessionPayload, "cognito_sub" | "signed_in_at">): boolean {
    const at = revokedAt.get(session.cognito_sub);
    if (at === undefined) return false;
    // A cookie from before signed_in_at existed cannot prove it is newer: revoked.
    return typeof session.signed_in_at !== "number" || session.signed_in_at <= at;
  }

  function revokeAtCognitoOnce(refreshToken: string, sub: string): void {
    const key = createHash("sha256").update(refreshToken).digest("base64url");
    if (revokedAtCognito.has(key)) return;
    revokedAtCognito.set(key, true);
    void options.revokeRefreshToken(refreshToken, { user: sub, reason: "admin-revocation" });
  }

  async function resync(): Promise<void> {
    if (!redis) return;
    const client = redis.redis as ScriptedRedis;
    const all = await client.hgetall(hashKey);
    const cutoff = nowSeconds() - ttlSeconds;
    for (const [sub, value] of Object.entries(all)) {
      const at = Number(value);
      if (Number.isFinite(at) && at > cutoff) remember(sub, at);
      else await client.bffPruneRevocation!(hashKey, sub, value).catch(() => 0);
    }
    for (const [sub, at] of revokedAt) if (at <= cutoff) revokedAt.delete(sub);
  }

  const resyncQuietly = () =>
    resync().catch((error: unknown) => log.warn({ detail: (error as Error)?.message }, "loading revocations from redis failed; retrying later"));

  let timer: NodeJS.Timeout | undefined;
  if (redis) {
    const client = redis.redis as ScriptedRedis;
    if (!client.bffPruneRevocation) client.defineCommand("bffPruneRevocation", { numberOfKeys: 1, lua: PRUNE_SCRIPT });
    redis.subscriber.on("message", (from: string, message: string) => {
      if (from !== channel) return;
      const separator = message.lastIndexOf(" ");
      const at = Number(message.slice(separator + 1));
      if (separator > 0 && Number.isFinite(at)) remember(message.slice(0, separator), at);
    });
    redis.subscriber.subscribe(channel).catch(() => {});
    // A replica must not serve a session revoked before it started: load first, unless Redis is down.
    await firstConnectionAttempt(redis.redis, STARTUP_WAIT_MS);
    if (redis.redis.status === "ready") await resyncQuietly();
    // Notices published while Redis was away are lost: reload whenever it is back.
    redis.redis.on("ready", () => void resyncQuietly());
    timer = setInterval(() => void resyncQuietly(), options.resyncIntervalMs ?? 30_000);
    timer.unref();
  }

  return {
    isRevoked,

    assertActive(session) {
      if (revokedAt.size === 0 || !isRevoked(session)) return;
      revokeAtCognitoOnce(session.refresh_token, session.cognito_sub);
      throw new BffError("session_expired", { logDetail: "session revoked by an administrator" });
    },

    async revokeUser(sub) {
      const at = nowSeconds();
      remember(sub, at);
      if (!redis) return at;
      try {
        await redis.redis.hset(hashKey, sub, String(at));
        await redis.redis.publish(channel, `${sub} ${at}`);
      } catch (error) {
        throw new BffError("temporarily_unavailable", {
          description: "The revocation could not be shared with the other replicas (Redis is unavailable). Retry.",
          logDetail: `revocation not stored in redis: ${(error as Error)?.message ?? "unknown"}`,
          retryAfterSeconds: 2,
        });
      }
      return at;
    },

    resync,

    async close() {
      if (timer) clearInterval(timer);
    },
  };
}
