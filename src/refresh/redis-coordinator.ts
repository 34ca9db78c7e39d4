/**
 * Cross-replica refresh coordination with Redis, in front of which the
 * in-process layer still deduplicates.
 *
 * For a refresh-token hash `h` (keys `rt:{h}:lock` and `rt:{h}:result`; the
 * hash tag keeps both in one Cluster slot):
 * 1. A sealed result under `rt:{h}:result` (kept `resultTtlSeconds`) answers
 *    at once: a waiter, or a late request still carrying the old cookie.
 * 2. Otherwise `SET lock owner NX PX lease`. The holder renews the lease while
 *    Cognito answers and then, in one script, writes the result and publishes
 *    `h` only if it still owns the lock (fencing: a holder that stalled past
 *    its lease never overwrites a newer result; it takes that result instead).
 *    A failure is stored too, briefly, so that waiters get the same error.
 * 3. Others wait for the notification (pub/sub), polling as a fallback,
 *    bounded by a deadline.
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

const RENEW_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const PUBLISH_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then
  redis.call("set", KEYS[2], ARGV[2], "PX", ARGV[3])
  redis.call("del", KEYS[1])
  redis.call("publish", ARGV[4], ARGV[5])
  return 1
end
return 0`;
const RELEASE_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

interface ScriptedRedis extends Redis {
  bffRenew(lock: string, owner: string, leaseMs: number): Promise<number>;
  bffPublish(lock: string, result: string, owner: string, sealed: string, ttlMs: number, channel: string, message: string): Promise<number>;
  bffRelease(lock: string, owner: string): Promise<number>;
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
    if (!redis.bffRenew) {
      redis.defineCommand("bffRenew", { numberOfKeys: 1, lua: RENEW_SCRIPT });
      redis.defineCommand("bffPublish", { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
      redis.defineCommand("bffRelease", { numberOfKeys: 1, lua: RELEASE_SCRIPT });
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

  refresh(key: string, task: () => Promise<RefreshedTokens>): Promise<RefreshOutcome> {
    return this.#local.run(key, () => this.#distributed(key, task));
  }

  async forget(key: string): Promise<void> {
    this.#local.forget(key);
    // Best effort: the sealed result expires by itself within REFRESH_RESULT_TTL_SECONDS, and the session id is revoked anyway.
    await this.#cmd("del", () => this.#redis.del(`rt:{${key}}:result`)).catch(() => {});
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

  async #distributed(key: string, task: () => Promise<RefreshedTokens>): Promise<RefreshOutcome> {
    try {
      return await this.#coordinate(key, task);
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

  async #readResult(key: string): Promise<RefreshedTokens | undefined> {
    const sealed = await this.#cmd("get", () => this.#redis.get(`rt:{${key}}:result`));
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

  async #coordinate(key: string, task: () => Promise<RefreshedTokens>): Promise<RefreshOutcome> {
    const waiting = { waited: false };
    try {
      return await this.#lockOrWait(key, task, waiting);
    } catch (error) {
      // Another replica holds the lock and is refreshing; Redis failing now (a failover, a blip) says nothing
      // about that refresh. Refreshing here too would spend the same refresh token again: answer 503, keep the session.
      if (waiting.waited && error instanceof RedisFailure) {
        throw new BffError("temporarily_unavailable", { logDetail: "redis failed while another replica was refreshing; not refreshing here too", retryAfterSeconds: 1 });
      }
      throw error;
    }
  }

  async #lockOrWait(key: string, task: () => Promise<RefreshedTokens>, waiting: { waited: boolean }): Promise<RefreshOutcome> {
    const started = this.#o.now();
    const deadline = started + this.#o.waitTimeoutMs;
    const owner = randomUUID();
    let waited = false;
    for (;;) {
      const found = await this.#readResult(key);
      if (found) {
        if (waited) this.#o.metrics.lockWait.observe((this.#o.now() - started) / 1000);
        return { tokens: found, via: waited ? "redis" : "late" };
      }
      const acquired = await this.#cmd("lock", () => this.#redis.set(`rt:{${key}}:lock`, owner, "PX", this.#o.leaseMs, "NX"));
      if (acquired === "OK") {
        // The previous holder may have published and released between our read and our lock: look again.
        const justPublished = await this.#readResult(key).catch(async (error: unknown) => {
          await this.#redis.bffRelease(`rt:{${key}}:lock`, owner).catch(() => {});
          throw error;
        });
        if (justPublished) {
          await this.#redis.bffRelease(`rt:{${key}}:lock`, owner).catch(() => {});
          return { tokens: justPublished, via: waited ? "redis" : "late" };
        }
        return this.#holdAndRun(key, owner, task);
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

  async #holdAndRun(key: string, owner: string, task: () => Promise<RefreshedTokens>): Promise<RefreshOutcome> {
    const lock = `rt:{${key}}:lock`;
    let lost = false;
    const renew = setInterval(() => {
      this.#redis.bffRenew(lock, owner, this.#o.leaseMs).then(
        (renewed) => {
          if (renewed === 0) lost = true;
        },
        () => {},
      );
    }, Math.max(10, Math.floor(this.#o.leaseMs / 3)));
    let tokens: RefreshedTokens;
    try {
      tokens = await task();
    } catch (error) {
      if (!(error instanceof BffError)) throw error;
      const failure: StoredResult = { error: { code: error.code, ...(error.retryAfterSeconds ? { retryAfterSeconds: error.retryAfterSeconds } : {}) } };
      await this.#publish(key, lock, owner, failure, FAILURE_TTL_MS[error.code] ?? this.#o.resultTtlSeconds * 1000).catch(() => {});
      throw error;
    } finally {
      clearInterval(renew);
    }
    const published = await this.#publish(key, lock, owner, { ok: tokens }, this.#o.resultTtlSeconds * 1000).catch(() => false);
    if (!published) {
      // Our lease ended while Cognito answered: a newer result, if another holder wrote one, wins.
      this.#o.log.warn({ leaseLost: lost }, "refresh lock lost before publishing; not overwriting");
      const newer = await this.#readResult(key).catch(() => undefined);
      if (newer) return { tokens: newer, via: "redis" };
    }
    return { tokens, via: "performed" };
  }

  async #publish(key: string, lock: string, owner: string, result: StoredResult, ttlMs: number): Promise<boolean> {
    const sealed = this.#o.seal.seal(result, key);
    const done = await this.#cmd("publish", () =>
      this.#redis.bffPublish(lock, `rt:{${key}}:result`, owner, sealed, ttlMs, this.#channel, key),
    );
    return done === 1;
  }
}
