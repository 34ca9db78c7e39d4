/**
 * Redis connections for refresh coordination, with ioredis: chosen over
 * node-redis for its built-in key prefix, per-command timeout, Cluster client
 * with the same API, and robust reconnecting pub/sub.
 *
 * Commands fail fast while Redis is down (no offline queue, one attempt, a
 * short command timeout), so a dead or slow Redis costs a request
 * milliseconds, never a hang: the caller falls back to in-process
 * coordination. `rediss://` URLs use TLS.
 */
import { Redis, type RedisOptions } from "ioredis";

export interface RedisClients {
  redis: Redis;
  subscriber: Redis;
  keyPrefix: string;
}

export interface RedisClientOptions {
  url: string;
  keyPrefix: string;
  /** Per-command timeout. */
  commandTimeoutMs?: number;
}

export function createRedisClients({ url, keyPrefix, commandTimeoutMs = 250 }: RedisClientOptions): RedisClients {
  const base: RedisOptions = {
    keyPrefix,
    connectTimeout: 2000,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Reconnect forever, backing off to 2 s: Redis coming back must be noticed without a restart.
    retryStrategy: (times) => Math.min(2000, 50 * 2 ** Math.min(times, 6)),
    lazyConnect: false,
  };
  const redis = new Redis(url, base);
  // The subscriber may queue its SUBSCRIBE until connected, and re-subscribes after reconnects.
  const subscriber = new Redis(url, { ...base, keyPrefix: undefined, enableOfflineQueue: true, commandTimeout: undefined });
  // Errors are reported through the coordinator's state; without listeners ioredis would print them.
  redis.on("error", () => {});
  subscriber.on("error", () => {});
  return { redis, subscriber, keyPrefix };
}
