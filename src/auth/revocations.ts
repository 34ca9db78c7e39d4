/**
 * Revocations: sessions that have ended although their cookies are still
 * cryptographically valid. Two kinds:
 * - a user revoked by an administrator: "every session of this Cognito `sub`
 *   that signed in at or before T has ended";
 * - a session signed out: "the session with this id (`sid`) has ended", so
 *   every copy of its cookie is refused, not only the one that signed out.
 *
 * The decision on the hot path is a Map lookup, never a Redis round-trip. With
 * Redis, each map is shared across replicas:
 * - a revocation is written to a hash (`<prefix>revocations`: sub -> T;
 *   `<prefix>revoked-sessions`: sid -> T) and announced on a channel
 *   (`<prefix>revoked`, `<prefix>revoked-session`), so every replica updates
 *   its map at once;
 * - every replica loads the hashes at start-up and whenever Redis becomes
 *   ready again (notices sent while it was away are lost), the users' hash
 *   also every `resyncIntervalMs` as a safety net, the sessions' hash (which
 *   grows with every sign-out) every `sessionResyncIntervalMs`;
 * - when Redis comes back, every replica first writes back what it holds (a
 *   field is only ever raised, never lowered), so a Redis that restarted
 *   empty gets its revocations back from any replica that saw them.
 * One hash per kind instead of one key per entry: a load is one HGETALL, not
 * a SCAN of the whole keyspace. A revocation matters for `ttlSeconds` (the
 * session max age: a revoked cookie can no longer be re-issued, so every copy
 * is dead by then); older fields are pruned by the loads.
 *
 * Without Redis the maps are this process's own: revocation covers one replica.
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
  /** True when the session was signed out, or signed in at or before its user's revocation time (no side effects). */
  isRevoked(session: Pick<SessionPayload, "cognito_sub" | "signed_in_at" | "sid">): boolean;
}

export interface Revocations extends RevocationCheck {
  /**
   * Revokes every session of `sub` signed in up to now; returns the revocation time (epoch seconds).
   * @throws {BffError} `temporarily_unavailable` when Redis is configured but the write failed (only this replica knows).
   */
  revokeUser(sub: string): Promise<number>;
  /**
   * Ends the session with this id, every copy of its cookie (sign-out). Never
   * rejects: when Redis cannot take it, this replica holds it and writes it back
   * once Redis is back.
   */
  revokeSession(sid: string): Promise<void>;
  /** Reloads the shared maps from Redis (no-op without Redis). */
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
  /** Default 1 h. */
  sessionResyncIntervalMs?: number;
}

/** Deletes a field only if it still holds the value the resync saw (a newer revocation is never pruned). */
const PRUNE_SCRIPT = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end return 0`;

/** Writes field/value pairs back, raising a field only where Redis has it lower or not at all. */
const RAISE_SCRIPT = `local n = 0
for i = 1, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if (not v) or tonumber(v) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    n = n + 1
  end
end
return n`;

/** Fields per write-back call: one script run stays short for Redis. */
const WRITE_BACK_BATCH = 500;

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

type ScriptedRedis = Redis & {
  bffPruneRevocation?: (key: string, field: string, value: string) => Promise<number>;
  bffRaiseRevocations?: (key: string, ...fieldsAndValues: string[]) => Promise<number>;
};

/**
 * One kind of revocation: id -> revocation time (epoch seconds), kept for
 * `ttlSeconds`, and with Redis its hash and channel.
 */
class RevocationMap {
  readonly entries = new Map<string, number>();

  constructor(
    readonly hashKey: string,
    readonly channel: string,
    private readonly ttlSeconds: number,
    private readonly nowSeconds: () => number,
  ) {}

  remember(id: string, at: number): void {
    if (at + this.ttlSeconds <= this.nowSeconds()) return;
    if ((this.entries.get(id) ?? 0) < at) this.entries.set(id, at);
  }

  /** Loads the hash into the map, pruning fields past their time in both. */
  async load(client: ScriptedRedis): Promise<void> {
    const all = await client.hgetall(this.hashKey);
    const cutoff = this.nowSeconds() - this.ttlSeconds;
    for (const [id, value] of Object.entries(all)) {
      const at = Number(value);
      if (Number.isFinite(at) && at > cutoff) this.remember(id, at);
      else await client.bffPruneRevocation!(this.hashKey, id, value).catch(() => 0);
    }
    for (const [id, at] of this.entries) if (at <= cutoff) this.entries.delete(id);
  }

  /** Writes what this replica holds back to Redis (a Redis that restarted empty gets it back). */
  async writeBack(client: ScriptedRedis): Promise<number> {
    let written = 0;
    const pairs = [...this.entries].flatMap(([id, at]) => [id, String(at)]);
    for (let i = 0; i < pairs.length; i += 2 * WRITE_BACK_BATCH) {
      written += await client.bffRaiseRevocations!(this.hashKey, ...pairs.slice(i, i + 2 * WRITE_BACK_BATCH));
    }
    return written;
  }

  /** Stores and announces one revocation. @throws what Redis throws. */
  async share(client: ScriptedRedis, id: string, at: number): Promise<void> {
    await client.hset(this.hashKey, id, String(at));
    await client.publish(this.channel, `${id} ${at}`);
  }

  /** Applies an announcement `<id> <at>` from the channel. */
  hear(message: string): void {
    const separator = message.lastIndexOf(" ");
    const at = Number(message.slice(separator + 1));
    if (separator > 0 && Number.isFinite(at)) this.remember(message.slice(0, separator), at);
  }
}

/**
 * Builds the revocation map and, with Redis, subscribes and loads it.
 * Start-up does not fail when Redis is down: the map is loaded when it comes back.
 */
export async function createRevocations(options: RevocationsOptions): Promise<Revocations> {
  const { now, log, redis } = options;
  const ttlSeconds = options.ttlSeconds + TTL_MARGIN_SECONDS;
  const nowSeconds = () => Math.floor(now() / 1000);
  const prefix = redis?.keyPrefix ?? "";
  const users = new RevocationMap("revocations", `${prefix}revoked`, ttlSeconds, nowSeconds);
  const sessions = new RevocationMap("revoked-sessions", `${prefix}revoked-session`, ttlSeconds, nowSeconds);
  const revokedAtCognito = new LRUCache<string, true>({ max: 10_000 });

  function isUserRevoked(session: Pick<SessionPayload, "cognito_sub" | "signed_in_at">): boolean {
    const at = users.entries.get(session.cognito_sub);
    if (at === undefined) return false;
    // A cookie from before signed_in_at existed cannot prove it is newer: revoked.
    return typeof session.signed_in_at !== "number" || session.signed_in_at <= at;
  }

  function isRevoked(session: Pick<SessionPayload, "cognito_sub" | "signed_in_at" | "sid">): boolean {
    return (session.sid !== undefined && sessions.entries.has(session.sid)) || isUserRevoked(session);
  }

  function revokeAtCognitoOnce(refreshToken: string, sub: string): void {
    const key = createHash("sha256").update(refreshToken).digest("base64url");
    if (revokedAtCognito.has(key)) return;
    revokedAtCognito.set(key, true);
    void options.revokeRefreshToken(refreshToken, { user: sub, reason: "admin-revocation" });
  }

  const client = redis?.redis as ScriptedRedis | undefined;

  async function resync(which: readonly RevocationMap[] = [users, sessions]): Promise<void> {
    if (!client) return;
    for (const map of which) await map.load(client);
  }

  const resyncQuietly = (which?: readonly RevocationMap[]) =>
    resync(which).catch((error: unknown) => log.warn({ detail: (error as Error)?.message }, "loading revocations from redis failed; retrying later"));

  /** Redis is (back) up: give it what this replica holds, then take what the others wrote. */
  async function reconcile(): Promise<void> {
    if (!client) return;
    try {
      let written = 0;
      for (const map of [users, sessions]) written += await map.writeBack(client);
      if (written > 0) log.warn({ written }, "revocations missing from redis were written back (did redis restart without persistence?)");
    } catch (error) {
      log.warn({ detail: (error as Error)?.message }, "writing revocations back to redis failed; retrying when it is back");
    }
    await resyncQuietly();
  }

  const timers: NodeJS.Timeout[] = [];
  if (redis && client) {
    if (!client.bffPruneRevocation) client.defineCommand("bffPruneRevocation", { numberOfKeys: 1, lua: PRUNE_SCRIPT });
    if (!client.bffRaiseRevocations) client.defineCommand("bffRaiseRevocations", { numberOfKeys: 1, lua: RAISE_SCRIPT });
    redis.subscriber.on("message", (from: string, message: string) => {
      if (from === users.channel) users.hear(message);
      else if (from === sessions.channel) sessions.hear(message);
    });
    // A notice published before the subscription is in place is missed: load once more when it is
    // (on a cluster, subscribing waits for the slot map, long after the first load).
    const subscribed = redis.subscriber.subscribe(users.channel, sessions.channel).then(
      () => resyncQuietly(),
      () => {},
    );
    // A replica must not serve a session revoked before it started: load first, unless Redis is down.
    await firstConnectionAttempt(redis.redis, STARTUP_WAIT_MS);
    if (redis.redis.status === "ready") await resyncQuietly();
    await Promise.race([subscribed, new Promise((resolve) => setTimeout(resolve, STARTUP_WAIT_MS).unref())]);
    // Notices published while Redis or the subscription was away are lost: reconcile whenever either is back.
    redis.redis.on("ready", () => void reconcile());
    redis.subscriber.on("ready", () => void resyncQuietly());
    timers.push(setInterval(() => void resyncQuietly([users]), options.resyncIntervalMs ?? 30_000));
    timers.push(setInterval(() => void resyncQuietly([sessions]), options.sessionResyncIntervalMs ?? 3_600_000));
    for (const timer of timers) timer.unref();
  }

  return {
    isRevoked,

    assertActive(session) {
      if (session.sid !== undefined && sessions.entries.has(session.sid)) {
        throw new BffError("session_expired", { logDetail: "session signed out (a copy of its cookie)" });
      }
      if (users.entries.size === 0 || !isUserRevoked(session)) return;
      revokeAtCognitoOnce(session.refresh_token, session.cognito_sub);
      throw new BffError("session_expired", { logDetail: "session revoked by an administrator" });
    },

    async revokeUser(sub) {
      const at = nowSeconds();
      users.remember(sub, at);
      if (!client) return at;
      try {
        await users.share(client, sub, at);
      } catch (error) {
        throw new BffError("temporarily_unavailable", {
          description: "The revocation could not be shared with the other replicas (Redis is unavailable). Retry.",
          logDetail: `revocation not stored in redis: ${(error as Error)?.message ?? "unknown"}`,
          retryAfterSeconds: 2,
        });
      }
      return at;
    },

    async revokeSession(sid) {
      const at = nowSeconds();
      sessions.remember(sid, at);
      if (!client) return;
      try {
        await sessions.share(client, sid, at);
      } catch (error) {
        log.warn({ detail: (error as Error)?.message }, "sign-out not shared through redis: this replica refuses the session now, the others once redis is back");
      }
    },

    resync: () => resync(),

    async close() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
