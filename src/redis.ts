/**
 * Redis connections for refresh coordination, revocations and the session
 * store, with ioredis: chosen over node-redis for its built-in key prefix,
 * per-command timeout, Cluster and Sentinel clients with the same API, and
 * robust reconnecting pub/sub.
 *
 * Commands fail fast while Redis is down (no offline queue, one attempt, a
 * short command timeout), so a dead or slow Redis costs a request
 * milliseconds, never a hang: the caller falls back to in-process
 * coordination, or answers 503. `rediss://` URLs use TLS; a password (and user)
 * in the URLs is used for every node, and for the sentinels.
 *
 * Three topologies (REDIS_MODE):
 * - `standalone`: one server (REDIS_URL);
 * - `cluster`: Redis Cluster, ElastiCache cluster mode or Serverless (REDIS_URL
 *   lists seed nodes). Every multi-key operation of this service keeps its
 *   keys in one hash slot (hash tags: `rt:{<token hash>}:…`,
 *   `s:{<user tag>}:…`/`u:{<user tag>}:…`). Notices use classic PUBLISH,
 *   which a cluster delivers to subscribers on every node: sharded pub/sub
 *   (Redis 7) would need one subscription per shard and a channel per slot,
 *   and the notices are few (sign-outs, revocations, refresh results);
 * - `sentinel`: a Sentinel-managed primary (REDIS_URL lists the sentinels,
 *   REDIS_SENTINEL_MASTER names the primary); after a failover ioredis asks
 *   the sentinels for the new primary and reconnects.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";

export interface RedisClients {
  /** Commands. A Cluster client has the same command API; it is typed as one Redis. */
  redis: Redis;
  /** Pub/sub only. */
  subscriber: Redis;
  keyPrefix: string;
}

export type RedisMode = "standalone" | "cluster" | "sentinel";

export interface RedisClientOptions {
  /** One URL, or several comma-separated (cluster seeds, sentinels). */
  url: string;
  keyPrefix: string;
  mode?: RedisMode;
  /** The primary's name (sentinel mode). */
  sentinelMaster?: string | undefined;
  /** Per-command timeout. */
  commandTimeoutMs?: number;
}

/** Reconnect forever, backing off to 2 s: Redis coming back must be noticed without a restart. */
const retryStrategy = (times: number) => Math.min(2000, 50 * 2 ** Math.min(times, 6));

interface Endpoint {
  host: string;
  port: number;
}

/** Nodes, credentials and TLS from REDIS_URL (one or more URLs). */
function parseRedisUrls(url: string): { endpoints: Endpoint[]; username?: string; password?: string; tls: boolean } {
  const urls = url.split(",").map((u) => new URL(u.trim())).filter((u) => u.hostname);
  const first = urls[0]!;
  const password = urls.map((u) => decodeURIComponent(u.password)).find(Boolean);
  const username = urls.map((u) => decodeURIComponent(u.username)).find(Boolean);
  return {
    endpoints: urls.map((u) => ({ host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || 6379) })),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: first.protocol === "rediss:",
  };
}

/** Remembers the channels subscribed to, and subscribes to them again, handling failure, whenever the connection is ready again. */
function resubscribeAfterReconnects(subscriber: Redis): void {
  const channels = new Set<string>();
  const subscribe = subscriber.subscribe.bind(subscriber);
  subscriber.subscribe = ((...args: Parameters<Redis["subscribe"]>) => {
    for (const arg of args) if (typeof arg === "string") channels.add(arg);
    return subscribe(...args);
  }) as Redis["subscribe"];
  let connectedBefore = false;
  subscriber.on("ready", () => {
    if (connectedBefore && channels.size > 0) subscribe(...channels).catch(() => {});
    connectedBefore = true;
  });
}

export function createRedisClients({ url, keyPrefix, mode = "standalone", sentinelMaster, commandTimeoutMs = 250 }: RedisClientOptions): RedisClients {
  const base: RedisOptions = {
    connectTimeout: 2000,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy,
    lazyConnect: false,
  };
  // The subscriber may queue its SUBSCRIBE until connected. It re-subscribes after reconnects itself
  // (resubscribeAfterReconnects), not through ioredis's autoResubscribe, which sends SUBSCRIBE without a
  // rejection handler: a connection closed while that was pending (a shutdown right after Redis came back)
  // was an unhandled rejection, which ends a Node process.
  const forSubscriber = { enableOfflineQueue: true, commandTimeout: undefined, autoResubscribe: false };
  let redis: Redis;
  let subscriber: Redis;
  if (mode === "standalone") {
    redis = new Redis(url, { ...base, keyPrefix });
    subscriber = new Redis(url, { ...base, ...forSubscriber });
  } else {
    const { endpoints, username, password, tls } = parseRedisUrls(url);
    const auth = { ...(username ? { username } : {}), ...(password ? { password } : {}), ...(tls ? { tls: {} } : {}) };
    if (mode === "cluster") {
      const cluster = (subscriberNode: boolean): ClusterOptions => ({
        keyPrefix: subscriberNode ? undefined : keyPrefix,
        enableOfflineQueue: subscriberNode,
        clusterRetryStrategy: retryStrategy,
        slotsRefreshTimeout: 2000,
        redisOptions: { ...auth, connectTimeout: base.connectTimeout, commandTimeout: subscriberNode ? undefined : commandTimeoutMs, maxRetriesPerRequest: 1 },
      });
      // One API for both topologies; the Cluster client routes each command to the node of its slot.
      redis = new Cluster(endpoints, cluster(false)) as unknown as Redis;
      subscriber = new Cluster(endpoints, cluster(true)) as unknown as Redis;
    } else {
      const sentinel: RedisOptions = {
        ...base,
        ...auth,
        sentinels: endpoints,
        name: sentinelMaster,
        ...(password ? { sentinelPassword: password } : {}),
        ...(username ? { sentinelUsername: username } : {}),
        ...(tls ? { enableTLSForSentinelMode: true } : {}),
        sentinelRetryStrategy: retryStrategy,
        // After a failover the former primary still takes writes for seconds (until the sentinels demote it), and
        // loses them when it resyncs: listen to the sentinels' +switch-master and move at once.
        failoverDetector: true,
        // A demoted primary answers writes with READONLY until the connection moves: move it now.
        reconnectOnError: (error) => /READONLY/.test(error.message),
      };
      redis = new Redis({ ...sentinel, keyPrefix });
      subscriber = new Redis({ ...sentinel, ...forSubscriber });
    }
  }
  if (mode !== "cluster") resubscribeAfterReconnects(subscriber);
  // Errors are reported through the coordinator's state; without listeners ioredis would print them.
  redis.on("error", () => {});
  subscriber.on("error", () => {});
  return { redis, subscriber, keyPrefix };
}
