/**
 * The Redis session store on an in-memory Redis double: what a real Redis cannot be made to do on cue. Commands
 * that fail (and the log line that says which one), a transaction Redis refuses, a subscription that is not up
 * yet, drops, or comes back on a new connection, and a notice that overtakes the reply of a read. The copies a
 * replica keeps are seen from outside: a session deleted behind the store's back is still read from a copy, and
 * is gone when the store had to ask Redis.
 * test/integration/redis-session-store-direct.test.ts runs the same store on the real Redis.
 */
import { EventEmitter } from "node:events";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createRedisSessionStore } from "../../src/auth/redis-session-store.js";
import { createSessionCodec } from "../../src/auth/session-codec.js";
import type { SessionPayload } from "../../src/auth/session-payload.js";
import type { SessionStore } from "../../src/auth/session-store.js";
import type { RedisClients } from "../../src/redis.js";

const SECRET = "redis-store-faults-test-secret-0123456789";
const PREFIX = "faults:";
const CHANNEL = `${PREFIX}session-changed`;
const NOW = Date.UTC(2030, 0, 1);

/** Keys and hashes in memory; PUBLISH reaches the subscribers of the same bus that are subscribed. */
class Bus {
  readonly strings = new Map<string, string>();
  readonly hashes = new Map<string, Map<string, string>>();
  readonly subscribers = new Set<FakeSubscriber>();
}

class FakeSubscriber extends EventEmitter {
  status: string;
  readonly subscribeCalls: string[] = [];
  private readonly channels = new Set<string>();
  /** When set, SUBSCRIBE waits for `confirm()`. */
  holdSubscriptions = false;
  private pending: Array<() => void> = [];

  constructor(
    private readonly bus: Bus,
    status: string,
  ) {
    super();
    this.status = status;
    bus.subscribers.add(this);
  }

  subscribe(channel: string): Promise<number> {
    this.subscribeCalls.push(channel);
    const done = () => this.channels.add(channel);
    if (!this.holdSubscriptions) {
      done();
      return Promise.resolve(1);
    }
    return new Promise((resolve) => this.pending.push(() => resolve((done(), 1))));
  }

  confirm(): void {
    for (const resolve of this.pending.splice(0)) resolve();
  }

  /** A new connection: no subscription survives it. */
  connect(): void {
    this.channels.clear();
    this.status = "ready";
    this.emit("ready");
  }

  drop(): void {
    this.channels.clear();
    this.status = "reconnecting";
    this.emit("close");
  }

  deliver(channel: string, message: string): void {
    if (this.channels.has(channel)) this.emit("message", channel, message);
  }
}

type Reply = [Error | null, unknown];

class FakeMulti {
  private readonly ops: Array<() => Reply> = [];
  constructor(private readonly redis: FakeRedis) {}
  set(key: string, value: string): this {
    this.ops.push(() => (this.redis.bus.strings.set(key, value), [null, "OK"]));
    return this;
  }
  hset(key: string, field: string, value: string): this {
    this.ops.push(() => (this.redis.hash(key).set(field, value), [null, 1]));
    return this;
  }
  pexpire(): this {
    this.ops.push(() => [null, 1]);
    return this;
  }
  del(key: string): this {
    this.ops.push(() => [null, this.redis.bus.strings.delete(key) ? 1 : 0]);
    return this;
  }
  hdel(key: string, ...fields: string[]): this {
    this.ops.push(() => [null, fields.filter((f) => this.redis.hash(key).delete(f)).length]);
    return this;
  }
  exec(): Promise<Reply[] | null> {
    return this.redis.exec(() => this.ops.map((op) => op()));
  }
}

/** The commands the store sends; each can be replaced by a test (a failure, a race). */
class FakeRedis {
  constructor(readonly bus: Bus) {}
  hash(key: string): Map<string, string> {
    if (!this.bus.hashes.has(key)) this.bus.hashes.set(key, new Map());
    return this.bus.hashes.get(key)!;
  }
  get = async (key: string): Promise<string | null> => this.bus.strings.get(key) ?? null;
  hget = async (key: string, field: string): Promise<string | null> => this.hash(key).get(field) ?? null;
  hgetall = async (key: string): Promise<Record<string, string>> => Object.fromEntries(this.hash(key));
  exists = async (key: string): Promise<number> => (this.bus.strings.has(key) ? 1 : 0);
  hdel = async (key: string, ...fields: string[]): Promise<number> => fields.filter((f) => this.hash(key).delete(f)).length;
  publish = async (channel: string, message: string): Promise<number> => {
    for (const subscriber of this.bus.subscribers) subscriber.deliver(channel, message);
    return this.bus.subscribers.size;
  };
  /** EXEC: runs the queued commands; a test replaces it to refuse or abort the transaction. */
  exec = async (run: () => Reply[]): Promise<Reply[] | null> => run();
  multi(): FakeMulti {
    return new FakeMulti(this);
  }
}

/** A confirmed SUBSCRIBE sets the store listening in a promise callback: let those run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

interface Replica {
  store: SessionStore;
  redis: FakeRedis;
  subscriber: FakeSubscriber;
}

async function replica(bus: Bus, options: { maxCopies?: number; subscriber?: "ready" | "connecting"; hold?: boolean } = {}): Promise<Replica> {
  const redis = new FakeRedis(bus);
  const subscriber = new FakeSubscriber(bus, options.subscriber ?? "ready");
  subscriber.holdSubscriptions = options.hold ?? false;
  const clients = { redis: redis as unknown as Redis, subscriber: subscriber as unknown as Redis, keyPrefix: PREFIX } satisfies RedisClients;
  const now = () => NOW;
  const codec = await createSessionCodec({ secrets: [SECRET], cookieName: "authjs.session-token", maxAgeSeconds: 3600, now });
  const store = createRedisSessionStore({
    redis: clients,
    secrets: [SECRET],
    codec,
    attributes: { secure: false, now },
    ...(options.maxCopies === undefined ? {} : { maxCopies: options.maxCopies }),
  });
  await settle();
  return { store, redis, subscriber };
}

const session = (sub = "sub-faults-1"): SessionPayload => ({
  access_token: "at-1",
  refresh_token: "rt-1",
  expires_at: NOW / 1000 + 600,
  issued_at: NOW / 1000,
  cognito_username: sub,
  cognito_sub: sub,
});

const cookieOf = (lines: string[]) => lines[0]!.slice(0, lines[0]!.indexOf(";"));
/** `v1.<tag>.<id>.<secret>`, the value of `authjs.session-token=…`. */
const ticketOf = (cookie: string) => cookie.slice(cookie.indexOf("=") + 1).split(".");
const ticketIdOf = (cookie: string) => ticketOf(cookie)[2]!;
const sessionKeyOf = (cookie: string) => `s:{${ticketOf(cookie)[1]}}:${ticketIdOf(cookie)}`;

/** Reads the session, deletes it in Redis behind the store's back, and reads again: a copy still answers. */
async function answersFromCopy(r: Replica, bus: Bus, cookie: string): Promise<boolean> {
  const stored = bus.strings.get(sessionKeyOf(cookie));
  bus.strings.delete(sessionKeyOf(cookie));
  try {
    return (await r.store.read(cookie)).session !== null;
  } finally {
    if (stored !== undefined) bus.strings.set(sessionKeyOf(cookie), stored);
  }
}

const unavailable = (logDetail: string) => ({ code: "temporarily_unavailable", retryAfterSeconds: 2, logDetail });

describe("Redis session store, when Redis fails", () => {
  it("a read Redis fails is a 503 that keeps the session, logged as a read with Redis's reason", async () => {
    const r = await replica(new Bus());
    r.redis.get = () => Promise.reject(new Error("LOADING Redis is loading the dataset in memory"));
    await expect(r.store.read("authjs.session-token=v1.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")).rejects.toMatchObject({
      ...unavailable("session store (redis) read failed: LOADING Redis is loading the dataset in memory"),
      description: "The session store is temporarily unavailable. Retry; the session is kept.",
    });
  });

  it("a failure that carries no error at all is still a 503, logged with 'unknown' as the reason", async () => {
    const r = await replica(new Bus());
    r.redis.get = () => Promise.reject(undefined as unknown as Error);
    await expect(r.store.read("authjs.session-token=v1.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")).rejects.toMatchObject(
      unavailable("session store (redis) read failed: unknown"),
    );
  });

  it("a write whose transaction Redis refuses (EXEC answers an error) is a 503 'not applied', not a session", async () => {
    const r = await replica(new Bus());
    r.redis.exec = async (run) => run().map(([, value], i): Reply => (i === 1 ? [new Error("OOM command not allowed when used memory > 'maxmemory'"), null] : [null, value]));
    await expect(r.store.write(session(), [])).rejects.toMatchObject(unavailable("session store (redis) write was not applied"));
  });

  it("a write whose transaction Redis aborts (EXEC answers null) is a 503 'not applied'", async () => {
    const r = await replica(new Bus());
    r.redis.exec = async () => null;
    await expect(r.store.write(session(), [])).rejects.toMatchObject(unavailable("session store (redis) write was not applied"));
  });

  it("a write whose transaction fails to reach Redis is a 503 logged as a write", async () => {
    const r = await replica(new Bus());
    r.redis.exec = () => Promise.reject(new Error("Connection is closed."));
    await expect(r.store.write(session(), [])).rejects.toMatchObject(unavailable("session store (redis) write failed: Connection is closed."));
  });

  it("a write whose notice cannot be published is a 503 logged as a notify", async () => {
    const r = await replica(new Bus());
    r.redis.publish = () => Promise.reject(new Error("Connection is closed."));
    await expect(r.store.write(session(), [])).rejects.toMatchObject(unavailable("session store (redis) notify failed: Connection is closed."));
  });

  it("a sign-out Redis fails is a 503 logged as a delete", async () => {
    const r = await replica(new Bus());
    const read = (await r.store.read(cookieOf(await r.store.write(session(), [])))).session!;
    r.redis.exec = () => Promise.reject(new Error("Command timed out"));
    await expect(r.store.end!(read)).rejects.toMatchObject(unavailable("session store (redis) delete failed: Command timed out"));
  });

  it("the user's list is a 503 logged as a read when the index or a session's key cannot be read", async () => {
    const r = await replica(new Bus());
    await r.store.write(session(), []);
    const hgetall = r.redis.hgetall;
    r.redis.hgetall = () => Promise.reject(new Error("index down"));
    await expect(r.store.directory!.list("sub-faults-1")).rejects.toMatchObject(unavailable("session store (redis) read failed: index down"));
    r.redis.hgetall = hgetall;
    r.redis.exists = () => Promise.reject(new Error("exists down"));
    await expect(r.store.directory!.list("sub-faults-1")).rejects.toMatchObject(unavailable("session store (redis) read failed: exists down"));
  });

  it("the user's list is a 503 logged as a write when the entries of expired sessions cannot be removed", async () => {
    const bus = new Bus();
    const r = await replica(bus);
    bus.strings.delete(sessionKeyOf(cookieOf(await r.store.write(session(), []))));
    r.redis.hdel = () => Promise.reject(new Error("READONLY You can't write against a read only replica."));
    await expect(r.store.directory!.list("sub-faults-1")).rejects.toMatchObject(
      unavailable("session store (redis) write failed: READONLY You can't write against a read only replica."),
    );
  });

  it("ending sessions from the user's list is a 503 logged as a read, or as a delete, for what failed", async () => {
    const r = await replica(new Bus());
    await r.store.write(session(), []);
    const hgetall = r.redis.hgetall;
    r.redis.hgetall = () => Promise.reject(new Error("index down"));
    await expect(r.store.directory!.end("sub-faults-1")).rejects.toMatchObject(unavailable("session store (redis) read failed: index down"));
    r.redis.hgetall = hgetall;
    r.redis.exec = () => Promise.reject(new Error("Command timed out"));
    await expect(r.store.directory!.end("sub-faults-1")).rejects.toMatchObject(unavailable("session store (redis) delete failed: Command timed out"));
  });
});

describe("Redis session store, the copies a replica keeps", () => {
  it("a replica answers a second read from its copy once it is subscribed", async () => {
    const bus = new Bus();
    const r = await replica(bus);
    const cookie = cookieOf(await r.store.write(session(), []));
    await r.store.read(cookie);
    expect(await answersFromCopy(r, bus, cookie)).toBe(true);
  });

  it("before its subscription is up, a replica keeps no copy, and subscribes once, when the connection is ready", async () => {
    const bus = new Bus();
    const r = await replica(bus, { subscriber: "connecting", hold: true });
    expect(r.subscriber.subscribeCalls).toEqual([]);
    const cookie = cookieOf(await r.store.write(session(), []));
    await r.store.read(cookie);
    expect(await answersFromCopy(r, bus, cookie)).toBe(false);

    r.subscriber.connect();
    expect(r.subscriber.subscribeCalls).toEqual([CHANNEL]);
    await r.store.read(cookie);
    expect(await answersFromCopy(r, bus, cookie)).toBe(false);

    r.subscriber.confirm();
    await settle();
    await r.store.read(cookie);
    expect(await answersFromCopy(r, bus, cookie)).toBe(true);
  });

  it("a closed subscription drops every copy, and the replica keeps none until it is subscribed again", async () => {
    const bus = new Bus();
    const r = await replica(bus);
    const cookie = cookieOf(await r.store.write(session(), []));
    await r.store.read(cookie);
    r.subscriber.drop();
    expect(await answersFromCopy(r, bus, cookie)).toBe(false);
    await r.store.read(cookie);
    expect(await answersFromCopy(r, bus, cookie)).toBe(false);

    r.subscriber.connect();
    await settle();
    await r.store.read(cookie);
    expect(await answersFromCopy(r, bus, cookie)).toBe(true);
  });

  it("a new subscriber connection drops the copies even without a close before it, and copies again once subscribed", async () => {
    const bus = new Bus();
    const r = await replica(bus);
    const cookie = cookieOf(await r.store.write(session(), []));
    await r.store.read(cookie);
    r.subscriber.holdSubscriptions = true;
    r.subscriber.connect();
    expect(await answersFromCopy(r, bus, cookie)).toBe(false);
    await r.store.read(cookie);
    expect(await answersFromCopy(r, bus, cookie)).toBe(false);

    r.subscriber.confirm();
    await settle();
    await r.store.read(cookie);
    expect(await answersFromCopy(r, bus, cookie)).toBe(true);
  });

  it("a read whose reply a notice overtook is not kept: the next read asks Redis", async () => {
    const bus = new Bus();
    const r = await replica(bus);
    const cookie = cookieOf(await r.store.write(session(), []));
    const get = r.redis.get;
    // Another replica writes the session while this read is on its way: its notice arrives before the (old) reply.
    r.redis.get = async (key) => {
      const old = await get(key);
      r.subscriber.deliver(CHANNEL, ticketIdOf(cookie));
      return old;
    };
    expect((await r.store.read(cookie)).session).not.toBeNull();
    r.redis.get = get;
    expect(await answersFromCopy(r, bus, cookie)).toBe(false);
  });

  it("ending sessions from the user's list ends them at once on this replica and on the others", async () => {
    const bus = new Bus();
    const here = await replica(bus);
    const there = await replica(bus);
    const cookie = cookieOf(await here.store.write(session(), []));
    for (const r of [here, there]) expect((await r.store.read(cookie)).session).not.toBeNull();
    expect(await here.store.directory!.end("sub-faults-1")).toEqual([{ sid: expect.any(String), refreshToken: "rt-1" }]);
    for (const r of [here, there]) expect((await r.store.read(cookie)).session).toBeNull();
  });

  it("a replica that keeps no copies still announces its writes and sign-outs to the replicas that do (regression: it published nothing)", async () => {
    const bus = new Bus();
    const plain = await replica(bus, { maxCopies: 0 });
    const copying = await replica(bus);
    const cookie = cookieOf(await plain.store.write(session(), []));
    const read = (await copying.store.read(cookie)).session!;
    await plain.store.write({ ...read, access_token: "at-2" }, []);
    expect((await copying.store.read(cookie)).session!.access_token).toBe("at-2");
    await plain.store.end!((await plain.store.read(cookie)).session!);
    expect((await copying.store.read(cookie)).session).toBeNull();
  });
});
