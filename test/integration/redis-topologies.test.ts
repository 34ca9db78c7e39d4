/**
 * The BFF on Redis as production runs it: a 3-primary Redis Cluster (with a
 * replica each) and a Sentinel-managed primary with a replica, started by the
 * test from the machine's redis-server. Any command spanning hash slots fails
 * on the cluster (CROSSSLOT), so every test here also checks the data layout.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { callToken, replay, signIn, signOut, startHarness, within, type Bff, type Harness } from "../helpers/harness.js";
import { startRedisCluster, startRedisSentinel } from "../helpers/redis-topologies.js";

/** Every data node requires it, and REDIS_URL carries it: the BFF authenticates in both modes. */
const PASSWORD = "topology-secret-0123456789";

interface Topology {
  url: string;
  env: Record<string, string>;
  /** Fails over the primary that holds `key` (the cluster) or the one primary (Sentinel); resolves when a new one serves. */
  failover(key: string): Promise<number>;
  close(): Promise<void>;
}

const TOPOLOGIES: Record<string, () => Promise<Topology>> = {
  cluster: async () => {
    const cluster = await startRedisCluster({ primaries: 3, replicasPerPrimary: 1, password: PASSWORD });
    return {
      url: cluster.url,
      env: { REDIS_MODE: "cluster" },
      failover: async (key) => {
        await cluster.waitForReplication();
        await cluster.killPrimaryOf(key);
        return cluster.waitForFailover();
      },
      close: () => cluster.close(),
    };
  },
  sentinel: async () => {
    const sentinel = await startRedisSentinel({ masterName: "mymaster", sentinels: 3, password: PASSWORD });
    return {
      url: sentinel.url,
      env: { REDIS_MODE: "sentinel", REDIS_SENTINEL_MASTER: "mymaster" },
      failover: async () => {
        await sentinel.waitForReplication();
        return sentinel.failover();
      },
      close: () => sentinel.close(),
    };
  },
};

/** Answers of `count` concurrent /token calls spread over the replicas. */
function storm(replicas: Bff[], cookie: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const res = await fetch(`${replicas[i % replicas.length]!.url}/token`, { headers: { cookie, "x-csrf": "1" } });
      return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as { access_token?: string } };
    }),
  );
}

for (const [name, start] of Object.entries(TOPOLOGIES)) {
  describe(`REDIS_MODE=${name}`, () => {
    let topology: Topology;
    let h: Harness | undefined;
    beforeAll(async () => {
      topology = await start();
    }, 60_000);
    afterAll(async () => {
      await topology?.close();
    });
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });

    async function threeReplicas(env: Record<string, string> = {}) {
      h = await startHarness({ redisUrl: topology.url, env: { ...topology.env, ...env }, emulator: { accessTokenTtlSeconds: 3600 } });
      const replicas = [h.bff, await h.startBff({ ...topology.env, ...env }), await h.startBff({ ...topology.env, ...env })];
      return { h, replicas };
    }

    it("a refresh storm of 150 calls over 3 replicas makes exactly one Cognito call", async () => {
      const { h, replicas } = await threeReplicas();
      const jar = await signIn(h.bff.url);
      h.emu.clock.advance(3600);
      h.emu.fault("InitiateAuth", { delayMs: 300, times: 1 });
      const answers = await storm(replicas, jar.header(), 150);
      expect(answers.map((a) => a.status)).toEqual(Array(150).fill(200));
      expect(new Set(answers.map((a) => a.body.access_token)).size).toBe(1);
      expect(h.emu.calls("InitiateAuth")).toBe(1);
    });

    it.each(["cookie", "redis"])("SESSION_STORE=%s: signed in on one replica, served by another; a sign-out is seen by all", async (store) => {
      const { h, replicas } = await threeReplicas({ SESSION_STORE: store, ADMIN_SECRET: "admin-secret-for-tests-0123456789abcdefXYZ" });
      const jar = await signIn(replicas[0]!.url);
      const copy = jar.header();
      for (const replica of replicas) expect((await callToken(jar, replica.url)).status).toBe(200);
      expect((await signOut(replicas[1]!.url, jar)).status).toBe(302);
      for (const replica of replicas) {
        await within(1000, async () => (await replay(replica, copy)).status === 401);
      }
      // An administrator's revocation too.
      const again = await signIn(replicas[0]!.url);
      expect((await callToken(again, replicas[2]!.url)).status).toBe(200);
      const revoke = await fetch(`${replicas[2]!.url}/admin/users/${encodeURIComponent((await h.bff.bff.sessions.read(again.header())).session!.cognito_sub)}/sessions/revoke`, {
        method: "POST",
        headers: { authorization: "Bearer admin-secret-for-tests-0123456789abcdefXYZ" },
      });
      expect(revoke.status).toBe(200);
      for (const replica of replicas) await within(1000, async () => (await callToken(again, replica.url)).status === 401);
    });

    it("a failover in the middle of a storm: 200 or 503 with Retry-After (never 401), no session lost, at most one extra refresh, replicas back by themselves", async () => {
      const { h, replicas } = await threeReplicas({ SESSION_STORE: "redis" });
      const jar = await signIn(h.bff.url);
      const cookie = jar.header();
      const ticket = /authjs\.session-token=v1\.([\w-]{8})\.([\w-]{22})\./.exec(cookie)!;
      const sessionKey = `${h.redisPrefix}s:{${ticket[1]}}:${ticket[2]}`;
      h.emu.clock.advance(3600);
      h.emu.fault("InitiateAuth", { delayMs: 300, times: 1 });

      const answers: Array<{ status: number; retryAfter: string | null }> = [];
      let failingOver = true;
      const load = (async () => {
        while (failingOver) {
          answers.push(...(await storm(replicas, cookie, 6)));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 150)); // the refresh is under way
      const failoverMs = await topology.failover(sessionKey);
      // Every replica serves the same session again, by itself.
      await within(20_000, async () => (await Promise.all(replicas.map((r) => callToken(jar, r.url)))).every((res) => res.status === 200));
      failingOver = false;
      await load;

      const statuses = new Set(answers.map((a) => a.status));
      expect([...statuses].filter((s) => s !== 200 && s !== 503)).toEqual([]);
      for (const a of answers.filter((x) => x.status === 503)) expect(Number(a.retryAfter)).toBeGreaterThan(0);
      expect(answers.length).toBeGreaterThan(10);
      expect(h.emu.calls("InitiateAuth")).toBeLessThanOrEqual(2);
      expect(failoverMs).toBeGreaterThan(0);
    });
  });
}
