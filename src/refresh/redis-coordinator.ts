/**
 * Cross-replica refresh coordination with Redis, in front of which the
 * in-process layer still deduplicates.
 *
 * For a refresh-token hash `h` (keys `rt:{h}:lock`, `rt:{h}:result`,
 * `rt:{h}:holder` and `rt:{h}:stalled`; the hash tag keeps them in one Cluster slot):
 * 1. A sealed result under `rt:{h}:result` (kept `resultTtlSeconds`) answers
 *    at once, if it is acceptable to the caller (newer than its token, enough
 *    life left): a waiter, or a late request still carrying the old cookie.
 * 2. Otherwise `SET lock owner NX PX lease`, and `holder` = owner for two
 *    leases (both renewed while Cognito answers): a `holder` still there when
 *    the lock is taken means the previous holder's lease ran out unreleased
 *    less than a lease ago (a stall: SIGSTOP, a long GC pause). The holder
 *    then, in one script, writes the result and publishes `h` only if it still
 *    owns the lock, or if the lock is free and no result is there (fencing: a
 *    holder that stalled past its lease never overwrites a newer result; it
 *    takes that result instead). A failure is stored too, briefly, so that
 *    waiters get the same error.
 * 3. Others wait for the notification (pub/sub), polling as a fallback,
 *    bounded by a deadline.
 * 4. A stalled holder whose result is refused because another replica holds
 *    the lock leaves it under `stalled` (two leases) and counts
 *    `bff_refresh_lease_lost_total`. That other replica, if Cognito rejected
 *    the token (the stalled holder spent it), waits up to one lease for that
 *    result before answering 401, and publishes it as its own. Likewise a
 *    holder that lost its lease and was rejected waits for the other one's result.
 *
 * Redis is a helper, never a single point of failure: any Redis error or
 * timeout falls back to in-process coordination, logged once per change of
 * state and counted in metrics.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { BffError, type ErrorCode } from "../errors.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import {
  type AcceptResult,
  LocalCoordinator,
  type RefreshCoordinator,
  type RefreshedTokens,
  type RefreshOutcome,
} from "./refresh-coordinator.js";
import type { ResultSeal } from "./result-seal.js";

export interface RedisCoordinatorOptions {
  /** Commands (ioredis, with `keyPrefix` set) and a second connection for SUBSCRIBE. */
  redis: Redis;
  subscriber: Redis;
  /** Prefix for the pub/sub channel (ioredis's keyPrefix does not apply to channels). */
  channelPrefix: string;
  seal: ResultSeal;
  now: () => number;
  /** How long a result serves waiters and late requests (at least the rotation grace period). */
  resultTtlSeconds: number;
  /** Lock lease; renewed every third of it while the holder works. */
  leaseMs: number;
  /** The longest a request waits for another replica's refresh. */
  waitTimeoutMs: number;
  /** Polling interval when no notification arrives. */
  pollMs?: number;
  log: Logger;
  metrics: Metrics;
}

/** What a result key holds (sealed). */
type StoredResult = { ok: RefreshedTokens } | { error: { code: ErrorCode; retryAfterSeconds?: number } };

/** How long a failure answers waiters; a rejected token stays rejected for the whole window. */
const FAILURE_TTL_MS: Partial<Record<ErrorCode, number>> = { temporarily_unavailable: 2000, internal_error: 2000 };

/** Thrown (internally) when Redis itself failed, as opposed to the refresh. */
class RedisFailure extends Error {}

/** 0: held by another; 1: taken; 2: taken, and the previous holder's lease ran out unreleased less than a lease ago. */
const ACQUIRE_SCRIPT = `if redis.call("set", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  local previous = redis.call("get", KEYS[2])
  redis.call("set", KEYS[2], ARGV[1], "PX", ARGV[3])
  if previous then return 2 end
  return 1
end
return 0`;
const RENEW_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then
  redis.call("pexpire", KEYS[2], ARGV[3])
  return redis.call("pexpire", KEYS[1], ARGV[2])
end
return 0`;
/**
 * 1: published as the holder; 2: published after the lease ran out (the lock free, no result there);
 * 0: refused (another holder, or a result already there); an ok result refused while another replica
 * holds the lock is left under KEYS[4] for that replica.
 */
const PUBLISH_SCRIPT = `local holder = redis.call("get", KEYS[1])
if holder == ARGV[1] or (not holder and redis.call("exists", KEYS[2]) == 0) then
  redis.call("set", KEYS[2], ARGV[2], "PX", ARGV[3])
  if holder then redis.call("del", KEYS[1]) end
  if redis.call("get", KEYS[3]) == ARGV[1] then redis.call("del", KEYS[3]) end
  redis.call("del", KEYS[4])
  redis.call("publish", ARGV[4], ARGV[5])
  if holder then return 1 end
  return 2
end
if holder and ARGV[6] ~= "0" then
  redis.call("set", KEYS[4], ARGV[2], "PX", ARGV[6])
  redis.call("publish", ARGV[4], ARGV[5])
end
return 0`;
const RELEASE_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then
  if redis.call("get", KEYS[2]) == ARGV[1] then redis.call("del", KEYS[2]) end
  return redis.call("del", KEYS[1])
end
return 0`;

interface ScriptedRedis extends Redis {
  bffAcquire(lock: string, holder: string, owner: string, leaseMs: number, holderTtlMs: number): Promise<number>;
  bffRenew(lock: string, holder: string, owner: string, leaseMs: number, holderTtlMs: number): Promise<number>;
  bffPublish(
    lock: string,
    result: string,
    holder: string,
    stalled: string,
    owner: string,
    sealed: string,
    ttlMs: number,
    channel: string,
    message: string,
    stalledTtlMs: number,
  ): Promise<number>;
  bffRelease(lock: string, holder: string, owner: string): Promise<number>;
}

/** The Redis keys of one refresh token's hash (one Cluster slot). */
function keysOf(key: string) {
  return { lock: `rt:{${key}}:lock`, result: `rt:{${key}}:result`, holder: `rt:{${key}}:holder`, stalled: `rt:{${key}}:stalled` };
}

export class RedisCoordinator implements RefreshCoordinator {
  readonly #o: RedisCoordinatorOptions;
  readonly #redis: ScriptedRedis;
  readonly #local: LocalCoordinator;
  readonly #channel: string;
  readonly #waiters = new Map<string, Set<() => void>>();
  #up = true;
  /** Whether Redis ever answered: a Redis that was never there is an outage from the start, not a blip. */
  #everConnected = false;
  /** Wall-clock ms when the current outage began. */
  #downSince = 0;

  constructor(options: RedisCoordinatorOptions) {
    this.#o = options;
    this.#local = new LocalCoordinator({ now: options.now, resultTtlSeconds: options.resultTtlSeconds });
    this.#channel = `${options.channelPrefix}refreshed`;
    const redis = options.redis as ScriptedRedis;
    if (!redis.bffAcquire) {
      redis.defineCommand("bffAcquire", { numberOfKeys: 2, lua: ACQUIRE_SCRIPT });
      redis.defineCommand("bffRenew", { numberOfKeys: 2, lua: RENEW_SCRIPT });
      redis.defineCommand("bffPublish", { numberOfKeys: 4, lua: PUBLISH_SCRIPT });
      redis.defineCommand("bffRelease", { numberOfKeys: 2, lua: RELEASE_SCRIPT });
    }
    this.#redis = redis;
    options.subscriber.on("message", (channel: string, key: string) => {
      if (channel !== this.#channel) return;
      for (const wake of this.#waiters.get(key) ?? []) wake();
    });
    // Subscription failures only cost notifications: waiters still poll.
    options.subscriber.subscribe(this.#channel).catch(() => {});
    this.#everConnected = options.redis.status === "ready";
    options.redis.on("ready", () => {
      this.#everConnected = true;
      this.#setUp(true, "connected");
    });
    options.redis.on("error", () => this.#setUp(false, "connection error"));
    options.redis.on("end", () => this.#setUp(false, "connection closed"));
  }

  status(): { mode: "redis"; redis: "up" | "down" } {
    return { mode: "redis", redis: this.#up && this.#o.redis.status === "ready" ? "up" : "down" };
  }

  async close(): Promise<void> {
    this.#o.redis.disconnect();
    this.#o.subscriber.disconnect();
  }

  refresh(key: string, task: () => Promise<RefreshedTokens>, acceptable: AcceptResult = () => true): Promise<RefreshOutcome> {
    return this.#local.run(key, () => this.#distributed(key, task, acceptable), acceptable);
  }

  async forget(key: string): Promise<void> {
    this.#local.forget(key);
    // Best effort: the sealed result expires by itself within REFRESH_RESULT_TTL_SECONDS, and the session id is revoked anyway.
    const { result, stalled } = keysOf(key);
    await this.#cmd("del", () => this.#redis.del(result, stalled)).catch(() => {});
  }

  #setUp(up: boolean, reason: string): void {
    this.#o.metrics.redisUnavailable.set(up ? 0 : 1);
    if (up === this.#up) return;
    this.#up = up;
    if (!up) this.#downSince = Date.now();
    if (up) this.#o.log.info({ reason }, "redis available again: refreshes are coordinated across replicas");
    else this.#o.log.warn({ reason }, "redis unavailable: refreshes are coordinated in-process only");
  }

  async #cmd<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.#o.metrics.redisFailures.inc({ operation });
      this.#setUp(false, `${operation}: ${(error as Error)?.name ?? "error"}`);
      throw new RedisFailure(operation);
    }
  }

  async #distributed(key: string, task: () => Promise<RefreshedTokens>, acceptable: AcceptResult): Promise<RefreshOutcome> {
    try {
      return await this.#coordinate(key, task, acceptable);
    } catch (error) {
      if (!(error instanceof RedisFailure)) throw error;
      // For one lease after Redis went away (a failover, a blip), another replica may hold this token's lock and be
      // refreshing: refreshing here too would spend the token again. Answer 503 (the session is kept) until then;
      // after that, the outage is real and this replica refreshes on its own.
      if (this.#everConnected && Date.now() - this.#downSince < this.#o.leaseMs) {
        throw new BffError("temporarily_unavailable", {
          logDetail: "redis unreachable for less than a lease: another replica may be refreshing this token",
          retryAfterSeconds: 1,
        });
      }
      return { tokens: await task(), via: "performed" };
    }
  }

  /** The result stored for `key` (under `which`, the result key unless told); a stored failure is thrown. */
  async #readResult(key: string, which: "result" | "stalled" = "result"): Promise<RefreshedTokens | undefined> {
    const sealed = await this.#cmd("get", () => this.#redis.get(keysOf(key)[which]));
    if (!this.#up) this.#setUp(true, "command succeeded");
    if (!sealed) return undefined;
    const stored = this.#o.seal.open(sealed, key) as StoredResult | undefined;
    if (!stored) return undefined;
    if ("error" in stored) {
      throw new BffError(stored.error.code, {
        logDetail: "refresh failed on another request (shared result)",
        ...(stored.error.retryAfterSeconds ? { retryAfterSeconds: stored.error.retryAfterSeconds } : {}),
      });
    }
    return stored.ok;
  }

  async #coordinate(key: string, task: () => Promise<RefreshedTokens>, acceptable: AcceptResult): Promise<RefreshOutcome> {
    const waiting = { waited: false };
    try {
      return await this.#lockOrWait(key, task, acceptable, waiting);
    } catch (error) {
      // Another replica holds the lock and is refreshing; Redis failing now (a failover, a blip) says nothing
      // about that refresh. Refreshing here too would spend the same refresh token again: answer 503, keep the session.
      if (waiting.waited && error instanceof RedisFailure) {
        throw new BffError("temporarily_unavailable", { logDetail: "redis failed while another replica was refreshing; not refreshing here too", retryAfterSeconds: 1 });
      }
      throw error;
    }
  }

  async #lockOrWait(key: string, task: () => Promise<RefreshedTokens>, acceptable: AcceptResult, waiting: { waited: boolean }): Promise<RefreshOutcome> {
    const started = this.#o.now();
    const deadline = started + this.#o.waitTimeoutMs;
    const owner = randomUUID();
    const { lock, holder } = keysOf(key);
    let waited = false;
    for (;;) {
      // A stored result this caller cannot use (older than its token, too close to expiry) counts as none.
      const found = await this.#readResult(key);
      if (found && acceptable(found)) {
        if (waited) this.#o.metrics.lockWait.observe((this.#o.now() - started) / 1000);
        return { tokens: found, via: waited ? "redis" : "late" };
      }
      const acquired = await this.#cmd("lock", () => this.#redis.bffAcquire(lock, holder, owner, this.#o.leaseMs, 2 * this.#o.leaseMs));
      if (acquired !== 0) {
        // The previous holder may have published and released between our read and our lock: look again.
        const justPublished = await this.#readResult(key).catch(async (error: unknown) => {
          await this.#redis.bffRelease(lock, holder, owner).catch(() => {});
          throw error;
        });
        if (justPublished && acceptable(justPublished)) {
          await this.#redis.bffRelease(lock, holder, owner).catch(() => {});
          return { tokens: justPublished, via: waited ? "redis" : "late" };
        }
        return this.#holdAndRun(key, owner, task, acceptable, acquired === 2);
      }
      if (this.#o.now() >= deadline) {
        throw new BffError("temporarily_unavailable", { logDetail: "timed out waiting for another replica's refresh", retryAfterSeconds: 1 });
      }
      waited = true;
      waiting.waited = true;
      await this.#waitForNotification(key, Math.min(this.#o.pollMs ?? 100, Math.max(1, deadline - this.#o.now())));
    }
  }

  #waitForNotification(key: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.#waiters.get(key) ?? new Set();
      this.#waiters.set(key, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0) this.#waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  /**
   * Runs the refresh holding the lock. `tookOver`: the previous holder's lease ran out unreleased less
   * than a lease ago, so that holder may have spent this refresh token and may still publish what it got.
   */
  async #holdAndRun(key: string, owner: string, task: () => Promise<RefreshedTokens>, acceptable: AcceptResult, tookOver: boolean): Promise<RefreshOutcome> {
    const { lock, holder } = keysOf(key);
    let lost = false;
    const renew = setInterval(() => {
      this.#redis.bffRenew(lock, holder, owner, this.#o.leaseMs, 2 * this.#o.leaseMs).then(
        (renewed) => {
          if (renewed === 0) lost = true;
        },
        () => {},
      );
    }, Math.max(10, Math.floor(this.#o.leaseMs / 3)));
    let tokens: RefreshedTokens;
    try {
      try {
        tokens = await task();
      } catch (error) {
        if (!(error instanceof BffError)) throw error;
        // Cognito rejected the token: if another replica spent it while a lease ran out (the previous holder's,
        // or ours: then it took over), that replica's result is the answer.
        if (error.code === "session_expired" && !tookOver && !lost) {
          lost = (await this.#redis.bffRenew(lock, holder, owner, this.#o.leaseMs, 2 * this.#o.leaseMs).catch(() => 1)) === 0;
        }
        if (error.code === "session_expired" && (tookOver || lost)) {
          const other = await this.#awaitStalledResult(key, acceptable);
          if (other) {
            this.#o.log.warn({ tookOver, leaseLost: lost }, "refresh token rejected after a lock holder's lease ran out; answered with that holder's result");
            if (lost) this.#o.metrics.leaseLost.inc();
            else await this.#publish(key, owner, { ok: other }, this.#o.resultTtlSeconds * 1000).catch(() => 0);
            return { tokens: other, via: "redis" };
          }
        }
        const failure: StoredResult = { error: { code: error.code, ...(error.retryAfterSeconds ? { retryAfterSeconds: error.retryAfterSeconds } : {}) } };
        const stored = await this.#publish(key, owner, failure, FAILURE_TTL_MS[error.code] ?? this.#o.resultTtlSeconds * 1000).catch(() => undefined);
        if (lost || stored === 0 || stored === 2) this.#o.metrics.leaseLost.inc();
        throw error;
      }
    } finally {
      clearInterval(renew);
    }
    const published = await this.#publish(key, owner, { ok: tokens }, this.#o.resultTtlSeconds * 1000).catch(() => undefined);
    if (published === 1) return { tokens, via: "performed" };
    if (published !== undefined || lost) this.#o.metrics.leaseLost.inc();
    if (published !== 2) {
      // Our lease ended while Cognito answered: a newer result, if another holder wrote one, wins.
      this.#o.log.warn({ leaseLost: lost }, "refresh lock lost before publishing; not overwriting");
      const newer = await this.#readResult(key).catch(() => undefined);
      if (newer) return { tokens: newer, via: "redis" };
    }
    return { tokens, via: "performed" };
  }

  /**
   * After Cognito rejected a token that another holder may have spent while its lease ran out: that
   * holder's result (left under `stalled`, or published as the result), waiting up to one lease for it.
   */
  async #awaitStalledResult(key: string, acceptable: AcceptResult): Promise<RefreshedTokens | undefined> {
    const deadline = this.#o.now() + this.#o.leaseMs;
    for (;;) {
      for (const which of ["stalled", "result"] as const) {
        const found = await this.#readResult(key, which).catch(() => undefined);
        if (found && acceptable(found)) return found;
      }
      const left = deadline - this.#o.now();
      if (left <= 0) return undefined;
      await this.#waitForNotification(key, Math.min(this.#o.pollMs ?? 100, left));
    }
  }

  /** @returns what {@link PUBLISH_SCRIPT} did: 1 published as the holder, 2 published after the lease ran out, 0 refused. */
  async #publish(key: string, owner: string, result: StoredResult, ttlMs: number): Promise<number> {
    const { lock, result: resultKey, holder, stalled } = keysOf(key);
    const sealed = this.#o.seal.seal(result, key);
    // Only a successful refresh is worth leaving for the replica that took over; a failure is not.
    const stalledTtlMs = "ok" in result ? 2 * this.#o.leaseMs : 0;
    return this.#cmd("publish", () =>
      this.#redis.bffPublish(lock, resultKey, holder, stalled, owner, sealed, ttlMs, this.#channel, key, stalledTtlMs),
    );
  }
}
