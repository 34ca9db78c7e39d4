/**
 * The Redis topology helpers work: a Cluster and a Sentinel-watched primary of the test's own start, take
 * writes through ioredis (from the URLs the helpers give, as REDIS_URL would), fail over (a crashed cluster
 * primary; a Sentinel failover), keep the data, and leave no redis-server behind.
 */
import { execFileSync } from "node:child_process";
import { Cluster, Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startRedisCluster, startRedisSentinel, type RedisClusterHandle, type RedisNode, type RedisSentinelHandle } from "../helpers/redis-topologies.js";

// A password exercises requirepass/masterauth, redis-cli -a and sentinel auth-pass, and the URLs carrying it.
const PASSWORD = "topology-secret";

/** host, port and password of each URL of a comma-separated REDIS_URL. */
function addresses(url: string): { host: string; port: number; password: string }[] {
  return url.split(",").map((part) => {
    const parsed = new URL(part);
    return { host: parsed.hostname, port: Number(parsed.port), password: decodeURIComponent(parsed.password) };
  });
}

/** The pids among these that `ps` still lists. */
function runningPids(nodes: RedisNode[]): string[] {
  try {
    return execFileSync("ps", ["-o", "pid=", "-p", nodes.map((n) => n.pid).join(",")], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
  } catch {
    return []; // ps exits 1 when none is listed
  }
}

async function eventually<T>(read: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe("Redis topologies of the test's own", () => {
  let cluster: RedisClusterHandle | undefined;
  let sentinel: RedisSentinelHandle | undefined;
  const clients: { disconnect(): void }[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await cluster?.close();
    await sentinel?.close();
    cluster = undefined;
    sentinel = undefined;
  });

  it("a cluster keeps a key when the primary serving it crashes, and its replica takes over", async () => {
    cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1, password: PASSWORD });
    expect(cluster.nodes.filter((n) => n.role === "primary")).toHaveLength(3);
    expect(cluster.nodes.filter((n) => n.role === "replica")).toHaveLength(3);
    expect(cluster.seeds).toHaveLength(3);
    const seeds = addresses(cluster.url);
    expect(seeds.every((s) => s.host === "127.0.0.1" && s.password === PASSWORD && s.port !== 6379)).toBe(true);

    const client = new Cluster(seeds.map(({ host, port }) => ({ host, port })), { redisOptions: { password: PASSWORD } });
    client.on("error", () => {});
    clients.push(client);
    await client.set("topology:key", "kept");
    await cluster.waitForReplication(); // replication is asynchronous: what the crash may lose is not the point here

    const before = await cluster.primaryPortOf("topology:key");
    const { killedPort } = await cluster.killPrimaryOf("topology:key");
    expect(killedPort).toBe(before);
    const ms = await cluster.waitForFailover();
    expect(ms).toBeLessThan(15_000);
    const after = await cluster.primaryPortOf("topology:key");
    expect(after).not.toBe(killedPort);
    expect(cluster.nodes.find((n) => n.port === killedPort)?.alive).toBe(false);
    expect(cluster.nodes.find((n) => n.port === after)?.role).toBe("primary");

    // The same client finds the new primary (its slot map is refreshed after the dead node's errors).
    expect(await eventually(() => client.get("topology:key"))).toBe("kept");
    await eventually(() => client.set("topology:key", "written after the failover"));
    const direct = new Redis({ port: after, host: "127.0.0.1", password: PASSWORD });
    clients.push(direct);
    expect(await direct.get("topology:key")).toBe("written after the failover");

    const nodes = cluster.nodes.slice();
    await cluster.close();
    expect(runningPids(nodes)).toEqual([]);
    expect(nodes.every((n) => !n.alive)).toBe(true);
  }, 30_000);

  it("a Sentinel failover moves the primary to the replica, with the data, and the former primary follows", async () => {
    sentinel = await startRedisSentinel({ masterName: "mymaster", sentinels: 3, password: PASSWORD });
    const sentinels = addresses(sentinel.url);
    expect(sentinels).toHaveLength(3);
    expect(sentinels.every((s) => s.host === "127.0.0.1" && s.password === PASSWORD)).toBe(true);
    const before = await sentinel.primaryPort();
    expect(sentinel.nodes.find((n) => n.role === "primary")?.port).toBe(before);

    // failoverDetector: the client follows +switch-master at once, not when the former primary drops it ~10 s later.
    const client = new Redis({
      sentinels: sentinels.map(({ host, port }) => ({ host, port })),
      name: sentinel.masterName,
      password: PASSWORD,
      failoverDetector: true,
    });
    client.on("error", () => {});
    clients.push(client);
    await client.set("topology:key", "kept");
    expect(parseInt(String(/tcp_port:(\d+)/.exec(await client.info("server"))?.[1]))).toBe(before);
    await sentinel.waitForReplication();

    const ms = await sentinel.failover();
    expect(ms).toBeLessThan(10_000);
    const after = await sentinel.primaryPort();
    expect(after).not.toBe(before);
    expect(sentinel.nodes.find((n) => n.port === after)?.role).toBe("primary");

    // The client is now on the new primary, which has the key, and takes writes.
    await eventually(async () => {
      const port = parseInt(String(/tcp_port:(\d+)/.exec(await client.info("server"))?.[1]));
      if (port !== after) throw new Error(`client still on ${port}`);
    }, 8000);
    expect(await client.get("topology:key")).toBe("kept");
    await client.set("topology:key", "written after the failover");

    // The Sentinels turn the former primary into a replica of the new one; it gets the later write.
    await sentinel.waitForFormerPrimary();
    expect(sentinel.nodes.find((n) => n.port === before)?.role).toBe("replica");
    await sentinel.waitForReplication();
    const former = new Redis({ port: before, host: "127.0.0.1", password: PASSWORD });
    clients.push(former);
    expect(await former.get("topology:key")).toBe("written after the failover");

    const nodes = [...sentinel.nodes, ...sentinel.sentinelNodes];
    expect(nodes).toHaveLength(5);
    await sentinel.close();
    expect(runningPids(nodes)).toEqual([]);
  }, 40_000);
});
