/**
 * Redis topologies of the test's own, for REDIS_MODE=cluster and REDIS_MODE=sentinel and their failovers:
 * a Redis Cluster (primaries, each with replicas) and a primary with a replica watched by Sentinels.
 *
 * Like ./redis-server.ts: every server is a `redis-server` child process on a free port of its own, with its
 * own temporary folder (its redis.conf, append-only file, nodes.conf or rewritten sentinel.conf and its
 * log file), and close() stops them all and removes the folders. Nothing is logged on success; a start or a
 * wait that fails throws with the last lines of every server's log.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./harness.js";

const HOST = "127.0.0.1";

export interface RedisNode {
  port: number;
  /** The role the helper last saw (updated by the failover waits). */
  role: "primary" | "replica" | "sentinel";
  pid: number;
  /** False once the process has exited (killed, or stopped by close()). */
  alive: boolean;
}

// ---------------------------------------------------------------------------------------------------------------------
// Processes

interface Server {
  node: RedisNode;
  dir: string;
  logFile: string;
  child: ChildProcess;
  exited: Promise<void>;
  /** What the process wrote to stderr (configuration errors come before the log file is open). */
  stderr: string;
}

/** Servers still running in this process: killed if the test process exits without closing them. */
const running = new Set<Server>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const server of running) {
      try {
        server.child.kill("SIGKILL");
      } catch {
        // already gone
      }
      rmSync(server.dir, { recursive: true, force: true });
    }
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One command on a short-lived connection (no retries, no offline queue): fails fast if the server is not there. */
async function call(port: number, password: string | undefined, command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({
    host: HOST,
    port,
    password,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 2000,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

function parseInfo(text: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of String(text).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** A flat [field, value, field, value, ...] reply (SENTINEL MASTER, SENTINEL REPLICAS entries) as an object. */
function pairs(reply: unknown): Record<string, string> {
  const list = reply as string[];
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) fields[String(list[i])] = String(list[i + 1]);
  return fields;
}

/** Thrown by a check of waitUntil() to stop waiting at once (a process that exited will not answer later). */
class GiveUp extends Error {}

/**
 * Polls `check` until it returns true; it returns what is still missing otherwise (or throws, which counts as
 * not yet, except GiveUp). Throws after `timeoutMs` with the last thing that was missing.
 */
async function waitUntil(what: string, timeoutMs: number, check: () => Promise<true | string>, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing: string;
  for (;;) {
    try {
      const result = await check();
      if (result === true) return;
      missing = result;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      missing = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${timeoutMs} ms (${missing})`);
    await sleep(intervalMs);
  }
}

function tail(file: string, lines: number): string {
  if (!existsSync(file)) return "(no log file)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/** The error, followed by the last log lines of every server. */
function withLogs(error: unknown, servers: Server[]): Error {
  const parts = [(error as Error).message ?? String(error)];
  for (const server of servers) {
    const { port, role, pid, alive } = server.node;
    parts.push(`--- ${role} 127.0.0.1:${port} (pid ${pid}${alive ? "" : ", exited"}) ${server.logFile}`);
    parts.push(tail(server.logFile, 15));
    if (server.stderr.trim()) parts.push(`stderr: ${server.stderr.trim().slice(-2000)}`);
  }
  const wrapped = new Error(parts.join("\n"));
  wrapped.cause = error;
  return wrapped;
}

/** Ports handed to this topology (freePort() closes its listener: two calls could give the same port). */
async function ownPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort();
    // The shared Redis (6379) is in use, so freePort() never returns it; the guard is for clarity.
    if (!taken.has(port) && port !== 6379) {
      taken.add(port);
      return port;
    }
  }
}

interface SpawnOptions {
  role: RedisNode["role"];
  taken: Set<number>;
  /** The configuration lines besides port, bind, dir and logfile; `ports` are extra ports this server needs. */
  config(ports: { port: number; extra: number[] }): string[];
  extraPorts?: number;
  /** For the readiness check of a server with requirepass. */
  password?: string;
}

/**
 * Starts one redis-server (or sentinel) from a generated config file in a folder of its own and waits until it
 * answers on its port. The port is free when chosen but another process may take it before redis-server binds it:
 * then redis-server exits, and this starts it again on other ports (up to 3 times). That the server answering is
 * ours is checked by its process id.
 */
async function spawnServer(options: SpawnOptions): Promise<Server> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await ownPort(options.taken);
    const extra: number[] = [];
    for (let i = 0; i < (options.extraPorts ?? 0); i++) extra.push(await ownPort(options.taken));
    const dir = mkdtempSync(join(tmpdir(), `cognito-bff-topology-${options.role}-`));
    const logFile = join(dir, options.role === "sentinel" ? "sentinel.log" : "redis.log");
    const configFile = join(dir, options.role === "sentinel" ? "sentinel.conf" : "redis.conf");
    const lines = [`port ${port}`, `bind ${HOST}`, `dir ${dir}`, `logfile ${logFile}`, "daemonize no", ...options.config({ port, extra })];
    writeFileSync(configFile, `${lines.join("\n")}\n`, { mode: 0o600 });
    const args = options.role === "sentinel" ? [configFile, "--sentinel"] : [configFile];
    const child = spawn("redis-server", args, { stdio: ["ignore", "ignore", "pipe"] });
    const server: Server = {
      node: { port, role: options.role, pid: child.pid ?? -1, alive: true },
      dir,
      logFile,
      child,
      stderr: "",
      exited: new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.once("error", () => resolve());
      }),
    };
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      server.stderr = (server.stderr + chunk).slice(-8000);
    });
    void server.exited.then(() => {
      server.node.alive = false;
      running.delete(server);
    });
    running.add(server);
    installExitHook();
    try {
      await waitUntil(`redis-server on ${port} answers`, 8000, async () => {
        // Not waiting on an answer from a port it could not bind (whatever holds it may never answer).
        const answer = await Promise.race([call(port, options.password, "INFO", "server"), server.exited.then(() => undefined)]);
        if (answer === undefined || !server.node.alive) throw new GiveUp(`redis-server for ${port} exited (${child.exitCode ?? child.signalCode})`);
        const info = parseInfo(answer);
        return info.process_id === String(child.pid) || `port ${port} is answered by pid ${info.process_id}, not ${child.pid}`;
      }, 25);
      return server;
    } catch (error) {
      await stopServer(server, "SIGKILL");
      lastError = withLogs(error, [server]);
      const log = `${tail(logFile, 50)}\n${server.stderr}`;
      rmSync(dir, { recursive: true, force: true });
      // Only a port taken in the meantime is worth another attempt.
      if (!/address already in use|could not create server tcp listening socket|failed listening/i.test(log)) break;
    }
  }
  throw lastError ?? new Error("redis-server did not start");
}

/**
 * SIGTERM (or the given signal) and waits for the exit. A redis-server refuses a SIGTERM while it writes its first
 * append-only file ("Writing initial AOF, can't exit": a replica right after a full sync, even just after start), and
 * does not try again: the signal is repeated every 250 ms, and SIGKILL ends it after 5 s.
 */
async function stopServer(server: Server, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  const deadline = Date.now() + 5000;
  while (server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill(Date.now() > deadline ? "SIGKILL" : signal);
    if (await Promise.race([server.exited.then(() => true), sleep(250).then(() => false)])) break;
  }
  await server.exited;
}

/** Starts servers in parallel; if one fails, the others are stopped and removed before the error is thrown. */
async function spawnAll(list: SpawnOptions[]): Promise<Server[]> {
  const results = await Promise.allSettled(list.map((options) => spawnServer(options)));
  const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await closeServers(started);
    throw failed.reason;
  }
  return started;
}

async function closeServers(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((server) => stopServer(server)));
  for (const server of servers) rmSync(server.dir, { recursive: true, force: true });
}

/**
 * Every data node: an append-only file, no RDB snapshots, and a replica's full sync starts at once (Redis 7 waits
 * 5 s by default for more replicas to share a diskless transfer: that would be most of every start and failover).
 */
const DATA_CONFIG = ["appendonly yes", 'save ""', "repl-diskless-sync-delay 0"];

function authConfig(password: string | undefined): string[] {
  // Quoted: a password may hold spaces or quotes.
  return password === undefined ? [] : [`requirepass ${JSON.stringify(password)}`, `masterauth ${JSON.stringify(password)}`];
}

function redisUrl(port: number, password: string | undefined): string {
  return password === undefined ? `redis://${HOST}:${port}` : `redis://:${encodeURIComponent(password)}@${HOST}:${port}`;
}

function runRedisCli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("redis-cli", args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli ${args.filter((a) => a !== "-a").join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Cluster

export interface RedisClusterOptions {
  primaries?: number;
  replicasPerPrimary?: number;
  /** requirepass and masterauth on every node; the URLs carry it. */
  password?: string;
}

export interface RedisClusterHandle {
  /** redis://127.0.0.1:<port> (redis://:<password>@... with a password) of the primaries at start. */
  seeds: string[];
  /** The seeds, comma-separated: REDIS_URL for REDIS_MODE=cluster. */
  url: string;
  /** `{ host, port }` of the seeds, for `new Cluster(startupNodes, { redisOptions: { password } })`. */
  startupNodes: { host: string; port: number }[];
  password: string | undefined;
  /** Every node; `role` and `alive` follow kills and failovers. */
  nodes: RedisNode[];
  /** The port of the primary that serves the key's slot now. */
  primaryPortOf(key: string): Promise<number>;
  /** Waits until every live replica has everything its primary had when this was called (its replication offset). */
  waitForReplication(): Promise<void>;
  /** SIGKILLs the primary that serves the key's slot (a crash: no shutdown, no final fsync). */
  killPrimaryOf(key: string): Promise<{ killedPort: number }>;
  /**
   * After killPrimaryOf(): waits until every live node says cluster_state:ok and serves the dead primary's slots
   * from one of its replicas, which answers ROLE as master. Returns the ms from the kill.
   */
  waitForFailover(): Promise<number>;
  /** Stops every node (SIGTERM) and removes their folders. */
  close(): Promise<void>;
}

interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId: string;
  slots: string[];
}

function parseClusterNodes(text: unknown): ClusterNodeLine[] {
  return String(text)
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id = "", address = "", flags = "", masterId = "", , , , , ...slots] = line.trim().split(" ");
      const port = Number(address.split("@")[0]?.split(":").pop());
      return { id, port, flags: flags.split(","), masterId, slots };
    });
}

/** CLUSTER SLOTS: [start, end, [ip, port, id], ...replicas]. */
type SlotRange = [number, number, [string, number, string, ...unknown[]], ...unknown[]];

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const { primaries = 3, replicasPerPrimary = 1, password } = options;
  const count = primaries * (1 + replicasPerPrimary);
  const taken = new Set<number>();
  const servers = await spawnAll(
    Array.from({ length: count }, () => ({
      role: "primary" as const,
      taken,
      password,
      extraPorts: 1,
      // The cluster bus port is set (a free one) rather than left at port + 10000, which may be taken or above 65535.
      config: ({ extra }: { extra: number[] }) => [
        "cluster-enabled yes",
        "cluster-config-file nodes.conf",
        "cluster-node-timeout 1000",
        `cluster-port ${extra[0]}`,
        ...DATA_CONFIG,
        ...authConfig(password),
      ],
    })),
  );
  const byPort = new Map(servers.map((s) => [s.node.port, s]));
  const live = () => servers.filter((s) => s.node.alive);
  const cmd = (port: number, command: string, ...args: (string | number)[]) => call(port, password, command, ...args);
  let closed = false;

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await closeServers(servers);
  }

  /** Every live node's view: the cluster is ok, covers all slots, and every node agrees on who is primary and replica. */
  async function clusterReady(expectedPrimaries: number, expectedReplicas: number): Promise<true | string> {
    for (const server of live()) {
      const { port } = server.node;
      const info = parseInfo(await cmd(port, "CLUSTER", "INFO"));
      if (info.cluster_state !== "ok") return `${port}: cluster_state:${info.cluster_state}`;
      if (info.cluster_slots_assigned !== "16384") return `${port}: cluster_slots_assigned:${info.cluster_slots_assigned}`;
      const view = parseClusterNodes(await cmd(port, "CLUSTER", "NODES")).filter((n) => !n.flags.includes("fail"));
      const masters = view.filter((n) => n.flags.includes("master") && n.slots.length > 0);
      const replicas = view.filter((n) => n.flags.includes("slave"));
      if (masters.length !== expectedPrimaries || replicas.length !== expectedReplicas) {
        return `${port} sees ${masters.length} primaries with slots and ${replicas.length} replicas`;
      }
      const replication = parseInfo(await cmd(port, "INFO", "replication"));
      if (replication.role === "slave" && (replication.master_link_status !== "up" || replication.master_sync_in_progress !== "0")) {
        return `${port}: replica link ${replication.master_link_status}`;
      }
    }
    return true;
  }

  /** Roles as the cluster says, into `nodes`. */
  async function refreshRoles(): Promise<void> {
    const [first] = live();
    if (!first) return;
    for (const line of parseClusterNodes(await cmd(first.node.port, "CLUSTER", "NODES"))) {
      const server = byPort.get(line.port);
      if (server && server.node.alive) server.node.role = line.flags.includes("master") ? "primary" : "replica";
    }
  }

  async function slotRanges(): Promise<SlotRange[]> {
    for (const server of live()) {
      try {
        return (await cmd(server.node.port, "CLUSTER", "SLOTS")) as SlotRange[];
      } catch {
        // next node
      }
    }
    throw new Error("no live node answers CLUSTER SLOTS");
  }

  async function primaryPortOf(key: string): Promise<number> {
    const [first] = live();
    if (!first) throw new Error("no live node");
    const slot = Number(await cmd(first.node.port, "CLUSTER", "KEYSLOT", key));
    const range = (await slotRanges()).find(([start, end]) => slot >= start && slot <= end);
    if (!range) throw new Error(`slot ${slot} of ${key} is not served`);
    return Number(range[2][1]);
  }

  async function waitForReplication(): Promise<void> {
    const offsets = new Map<number, number>();
    for (const server of live()) {
      const info = parseInfo(await cmd(server.node.port, "INFO", "replication"));
      if (info.role === "master") offsets.set(server.node.port, Number(info.master_repl_offset));
    }
    await waitUntil("every replica has its primary's writes", 10_000, async () => {
      for (const server of live()) {
        const info = parseInfo(await cmd(server.node.port, "INFO", "replication"));
        if (info.role !== "slave") continue;
        const target = offsets.get(Number(info.master_port));
        if (target === undefined) continue; // its primary is dead
        if (info.master_link_status !== "up") return `${server.node.port}: link ${info.master_link_status}`;
        if (Number(info.slave_repl_offset) < target) return `${server.node.port} at ${info.slave_repl_offset} of ${target}`;
      }
      return true;
    }).catch((error: unknown) => {
      throw withLogs(error, servers);
    });
  }

  let pendingFailover: { killedPort: number; killedId: string; replicaPorts: number[]; killedAt: number } | undefined;

  async function killPrimaryOf(key: string): Promise<{ killedPort: number }> {
    const killedPort = await primaryPortOf(key);
    const server = byPort.get(killedPort);
    if (!server || !server.node.alive) throw new Error(`the primary of ${key} (${killedPort}) is not a live node of this cluster`);
    const view = parseClusterNodes(await cmd(killedPort, "CLUSTER", "NODES"));
    const killedId = view.find((n) => n.flags.includes("myself"))?.id ?? "";
    const replicaPorts = view.filter((n) => n.masterId === killedId && !n.flags.includes("fail")).map((n) => n.port);
    if (replicaPorts.length === 0) throw new Error(`the primary of ${key} (${killedPort}) has no replica to fail over to`);
    await stopServer(server, "SIGKILL");
    server.node.alive = false;
    pendingFailover = { killedPort, killedId, replicaPorts, killedAt: Date.now() };
    return { killedPort };
  }

  async function waitForFailover(): Promise<number> {
    const pending = pendingFailover;
    if (!pending) throw new Error("waitForFailover() without killPrimaryOf()");
    try {
      await waitUntil(`a replica of ${pending.killedPort} takes over its slots`, 20_000, async () => {
        for (const server of live()) {
          const { port } = server.node;
          const info = parseInfo(await cmd(port, "CLUSTER", "INFO"));
          if (info.cluster_state !== "ok") return `${port}: cluster_state:${info.cluster_state}`;
          const ranges = (await cmd(port, "CLUSTER", "SLOTS")) as SlotRange[];
          const served = ranges.reduce((sum, [start, end]) => sum + end - start + 1, 0);
          if (served !== 16384) return `${port} serves ${served} slots`;
          const stale = ranges.find((range) => Number(range[2][1]) === pending.killedPort);
          if (stale) return `${port} still routes slots ${stale[0]}-${stale[1]} to ${pending.killedPort}`;
        }
        const promoted = [];
        for (const port of pending.replicaPorts) {
          const role = (await cmd(port, "ROLE").catch(() => [])) as unknown[];
          if (role[0] === "master") promoted.push(port);
        }
        return promoted.length === 1 || `no replica of ${pending.killedPort} answers ROLE master yet`;
      }, 100);
      await refreshRoles();
    } catch (error) {
      throw withLogs(error, servers);
    }
    pendingFailover = undefined;
    return Date.now() - pending.killedAt;
  }

  try {
    const addresses = servers.map((s) => `${HOST}:${s.node.port}`);
    const auth = password === undefined ? [] : ["-a", password, "--no-auth-warning"];
    await runRedisCli(["--cluster", "create", ...addresses, "--cluster-replicas", String(replicasPerPrimary), "--cluster-yes", ...auth], 30_000);
    await waitUntil("the cluster is ok on every node, replicas in sync", 15_000, () => clusterReady(primaries, primaries * replicasPerPrimary));
    await refreshRoles();
  } catch (error) {
    const wrapped = withLogs(error, servers);
    await close();
    throw wrapped;
  }

  const primaryPorts = servers.filter((s) => s.node.role === "primary").map((s) => s.node.port);
  const seeds = primaryPorts.map((port) => redisUrl(port, password));
  return {
    seeds,
    url: seeds.join(","),
    startupNodes: primaryPorts.map((port) => ({ host: HOST, port })),
    password,
    nodes: servers.map((s) => s.node),
    primaryPortOf,
    waitForReplication,
    killPrimaryOf,
    waitForFailover,
    close,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Sentinel

export interface RedisSentinelOptions {
  masterName?: string;
  sentinels?: number;
  /** requirepass and masterauth on the primary and the replica, `sentinel auth-pass` for the Sentinels (which have none). */
  password?: string;
}

export interface RedisSentinelHandle {
  /** redis://127.0.0.1:<sentinelPort> of every Sentinel, comma-separated (redis://:<password>@... with a password): REDIS_URL for REDIS_MODE=sentinel. */
  url: string;
  masterName: string;
  /** `{ host, port }` of the Sentinels, for `new Redis({ sentinels, name: masterName, password })`. */
  sentinels: { host: string; port: number }[];
  password: string | undefined;
  /** The primary and the replica (`role` and `alive` follow failovers and kills). */
  nodes: RedisNode[];
  /** The Sentinels' processes. */
  sentinelNodes: RedisNode[];
  /** The primary's port, as a Sentinel reports it. */
  primaryPort(): Promise<number>;
  /** Waits until the replica has everything the primary had when this was called (its replication offset). */
  waitForReplication(): Promise<void>;
  /**
   * SENTINEL FAILOVER, then waits until every Sentinel reports the other data node as the primary and it answers ROLE
   * as master (about 1.2 s). Returns the ms it took.
   *
   * The former primary is not told anything then: it still answers as a primary, and takes writes from clients still
   * connected to it, until the Sentinels turn it into a replica (SLAVEOF, CLIENT KILL) about 10 s later (Redis 7.0:
   * after their next INFO of it, every 10 s, once it has reported role master for 8 s). Writes made there in
   * between are lost in its resync. See waitForFormerPrimary().
   */
  failover(): Promise<number>;
  /**
   * After failover(): waits until the former primary replicates from the new one, link up (one primary again).
   * Returns the ms from the start of failover() (about 11 s).
   */
  waitForFormerPrimary(): Promise<number>;
  /** SIGKILLs the primary (a crash); the Sentinels fail over after down-after-milliseconds (1 s). */
  killPrimary(): Promise<{ killedPort: number }>;
  /** After killPrimary(): waits until every Sentinel reports the replica as the primary and it answers ROLE master. Returns the ms from the kill. */
  waitForFailover(): Promise<number>;
  /** Stops every process (SIGTERM) and removes their folders. */
  close(): Promise<void>;
}

export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelHandle> {
  const { masterName = "mymaster", sentinels: sentinelCount = 3, password } = options;
  if (!/^[A-Za-z0-9._-]+$/.test(masterName)) throw new Error(`master name ${masterName} would need quoting`);
  const quorum = Math.floor(sentinelCount / 2) + 1;
  const taken = new Set<number>();
  const servers: Server[] = [];
  const cmd = (port: number, command: string, ...args: (string | number)[]) => call(port, password, command, ...args);
  const sentinelCmd = (port: number, ...args: (string | number)[]) => call(port, undefined, "SENTINEL", ...args);
  const dataNodes = () => servers.filter((s) => s.node.role !== "sentinel");
  const sentinelServers = () => servers.filter((s) => s.node.role === "sentinel");
  let closed = false;

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await closeServers(servers);
  }

  const dataConfig = (extra: string[]) => () => [...DATA_CONFIG, ...authConfig(password), ...extra];

  async function replicaLinkUp(port: number): Promise<true | string> {
    const info = parseInfo(await cmd(port, "INFO", "replication"));
    if (info.role !== "slave") return `${port} is ${info.role}`;
    return (info.master_link_status === "up" && info.master_sync_in_progress === "0") || `${port}: link ${info.master_link_status}`;
  }

  async function masterAddress(sentinelPort: number): Promise<number> {
    const reply = (await sentinelCmd(sentinelPort, "get-master-addr-by-name", masterName)) as [string, string] | null;
    if (!reply) throw new Error(`sentinel ${sentinelPort} does not know ${masterName}`);
    return Number(reply[1]);
  }

  async function primaryPort(): Promise<number> {
    let lastError: unknown;
    for (const sentinel of sentinelServers().filter((s) => s.node.alive)) {
      try {
        return await masterAddress(sentinel.node.port);
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no sentinel reports ${masterName}: ${(lastError as Error)?.message}`);
  }

  /** Every Sentinel: the primary on `primary`, knows the live replicas (link ok) and the other Sentinels. */
  async function sentinelsAgree(primary: number, replicas: number[]): Promise<true | string> {
    for (const sentinel of sentinelServers()) {
      const port = sentinel.node.port;
      const reported = await masterAddress(port);
      if (reported !== primary) return `sentinel ${port} reports ${reported}, not ${primary}`;
      const master = pairs(await sentinelCmd(port, "master", masterName));
      if (master.flags !== "master") return `sentinel ${port} flags the primary ${master.flags}`;
      if (Number(master["num-other-sentinels"]) < sentinelCount - 1) return `sentinel ${port} knows ${master["num-other-sentinels"]} other sentinels`;
      const known = ((await sentinelCmd(port, "replicas", masterName)) as unknown[]).map(pairs);
      for (const replica of replicas) {
        const entry = known.find((r) => Number(r.port) === replica);
        if (!entry) return `sentinel ${port} does not know replica ${replica}`;
        if (entry.flags !== "slave" || entry["master-link-status"] !== "ok") {
          return `sentinel ${port} sees replica ${replica} as ${entry.flags}, link ${entry["master-link-status"]}`;
        }
      }
    }
    return true;
  }

  async function isMaster(port: number): Promise<true | string> {
    const role = (await cmd(port, "ROLE")) as unknown[];
    return role[0] === "master" || `${port} answers ROLE ${String(role[0])}`;
  }

  function serverOn(port: number): Server | undefined {
    return dataNodes().find((s) => s.node.port === port);
  }

  function setRoles(primary: number): void {
    for (const server of dataNodes()) if (server.node.alive) server.node.role = server.node.port === primary ? "primary" : "replica";
  }

  async function waitForReplication(): Promise<void> {
    const primary = await primaryPort();
    const target = Number(parseInfo(await cmd(primary, "INFO", "replication")).master_repl_offset);
    await waitUntil("the replicas have the primary's writes", 10_000, async () => {
      for (const server of dataNodes().filter((s) => s.node.alive && s.node.port !== primary)) {
        const info = parseInfo(await cmd(server.node.port, "INFO", "replication"));
        if (info.master_link_status !== "up") return `${server.node.port}: link ${info.master_link_status}`;
        if (Number(info.slave_repl_offset) < target) return `${server.node.port} at ${info.slave_repl_offset} of ${target}`;
      }
      return true;
    }).catch((error: unknown) => {
      throw withLogs(error, servers);
    });
  }

  let pendingDemotion: { oldPort: number; newPort: number; startedAt: number } | undefined;

  async function failover(): Promise<number> {
    const startedAt = Date.now();
    const oldPort = await primaryPort();
    const next = dataNodes().find((s) => s.node.alive && s.node.port !== oldPort);
    if (!next) throw new Error("no live replica to fail over to");
    const newPort = next.node.port;
    try {
      // A Sentinel refuses before it sees the replica fit (NOGOODSLAVE): asked again. It also refuses while a
      // failover is in progress (INPROG): then one is (maybe ours, if an earlier answer was lost), and asking again
      // once it is over would fail back; so would asking again once the primary has moved.
      await waitUntil("a sentinel accepts SENTINEL FAILOVER", 10_000, async () => {
        const sentinel = sentinelServers().find((s) => s.node.alive);
        if (!sentinel) throw new Error("no live sentinel");
        if ((await masterAddress(sentinel.node.port)) !== oldPort) return true;
        try {
          await sentinelCmd(sentinel.node.port, "failover", masterName);
        } catch (error) {
          if (/INPROG/.test((error as Error).message)) return true;
          throw error;
        }
        return true;
      }, 200);
      await waitUntil(`every sentinel reports ${newPort} as the primary`, 15_000, async () => {
        for (const sentinel of sentinelServers()) {
          const reported = await masterAddress(sentinel.node.port);
          if (reported !== newPort) return `sentinel ${sentinel.node.port} reports ${reported}`;
        }
        return isMaster(newPort);
      });
    } catch (error) {
      throw withLogs(error, servers);
    }
    setRoles(newPort);
    // The former primary still answers as a primary until the Sentinels turn it into a replica (see waitForFormerPrimary).
    serverOn(oldPort)!.node.role = "primary";
    pendingDemotion = { oldPort, newPort, startedAt };
    return Date.now() - startedAt;
  }

  async function waitForFormerPrimary(): Promise<number> {
    const pending = pendingDemotion;
    if (!pending) throw new Error("waitForFormerPrimary() without failover()");
    const { oldPort, newPort } = pending;
    try {
      await waitUntil(`the former primary ${oldPort} replicates from ${newPort}`, 25_000, async () => {
        const info = parseInfo(await cmd(oldPort, "INFO", "replication"));
        if (Number(info.master_port) !== newPort) return `${oldPort} is ${info.role} of ${info.master_port ?? "nobody"}`;
        return replicaLinkUp(oldPort);
      }, 100);
    } catch (error) {
      throw withLogs(error, servers);
    }
    setRoles(newPort);
    pendingDemotion = undefined;
    return Date.now() - pending.startedAt;
  }

  let pendingFailover: { killedPort: number; killedAt: number } | undefined;

  async function killPrimary(): Promise<{ killedPort: number }> {
    const killedPort = await primaryPort();
    const server = serverOn(killedPort);
    if (!server || !server.node.alive) throw new Error(`the primary ${killedPort} is not a live node of this topology`);
    await stopServer(server, "SIGKILL");
    server.node.alive = false;
    pendingFailover = { killedPort, killedAt: Date.now() };
    return { killedPort };
  }

  async function waitForFailover(): Promise<number> {
    const pending = pendingFailover;
    if (!pending) throw new Error("waitForFailover() without killPrimary()");
    let newPort = 0;
    try {
      // A failed election is retried by the Sentinels after 2 × failover-timeout (10 s): hence the long deadline.
      await waitUntil(`the sentinels replace the dead primary ${pending.killedPort}`, 30_000, async () => {
        const reported = new Set<number>();
        for (const sentinel of sentinelServers()) reported.add(await masterAddress(sentinel.node.port));
        const [port] = [...reported];
        if (reported.size !== 1 || port === undefined || port === pending.killedPort) return `sentinels report ${[...reported].join(", ")}`;
        newPort = port;
        return isMaster(port);
      }, 100);
    } catch (error) {
      throw withLogs(error, servers);
    }
    setRoles(newPort);
    pendingFailover = undefined;
    return Date.now() - pending.killedAt;
  }

  try {
    const [primary] = await spawnAll([{ role: "primary", taken, password, config: dataConfig([]) }]);
    servers.push(primary!);
    const primaryPortAtStart = primary!.node.port;
    const [replica] = await spawnAll([{ role: "replica", taken, password, config: dataConfig([`replicaof ${HOST} ${primaryPortAtStart}`]) }]);
    servers.push(replica!);
    // In sync before the Sentinels start: their first INFO of the primary then lists the replica (no 10 s INFO period to wait).
    await waitUntil("the replica is in sync", 10_000, () => replicaLinkUp(replica!.node.port));
    servers.push(
      ...(await spawnAll(
        Array.from({ length: sentinelCount }, () => ({
          role: "sentinel" as const,
          taken,
          config: () => [
            "sentinel resolve-hostnames no",
            `sentinel monitor ${masterName} ${HOST} ${primaryPortAtStart} ${quorum}`,
            `sentinel down-after-milliseconds ${masterName} 1000`,
            `sentinel failover-timeout ${masterName} 5000`,
            ...(password === undefined ? [] : [`sentinel auth-pass ${masterName} ${JSON.stringify(password)}`]),
          ],
        })),
      )),
    );
    // The Sentinels find each other through hello messages on the primary (every 2 s).
    await waitUntil("every sentinel knows the primary, the replica and the other sentinels", 15_000, () =>
      sentinelsAgree(primaryPortAtStart, [replica!.node.port]),
    100);
  } catch (error) {
    const wrapped = withLogs(error, servers);
    await close();
    throw wrapped;
  }

  const sentinelPorts = sentinelServers().map((s) => s.node.port);
  return {
    url: sentinelPorts.map((port) => redisUrl(port, password)).join(","),
    masterName,
    sentinels: sentinelPorts.map((port) => ({ host: HOST, port })),
    password,
    nodes: dataNodes().map((s) => s.node),
    sentinelNodes: sentinelServers().map((s) => s.node),
    primaryPort,
    waitForReplication,
    failover,
    waitForFormerPrimary,
    killPrimary,
    waitForFailover,
    close,
  };
}
