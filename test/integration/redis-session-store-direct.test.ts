/**
 * The Redis session store through its own interface, on the real Redis, without an app: what it writes where
 * (the sealed session with its TTL, the user's index entry), what the user's list shows and what ending
 * sessions returns, the copies a replica keeps and drops, and Redis failures as 503s that keep the session.
 * test/integration/redis-session-store.test.ts drives the same store through HTTP.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedisSessionStore } from "../../src/auth/redis-session-store.js";
import { createSessionCodec } from "../../src/auth/session-codec.js";
import type { SessionPayload } from "../../src/auth/session-payload.js";
import type { SessionStore } from "../../src/auth/session-store.js";
import { userTag } from "../../src/auth/session-ticket.js";
import { BffError } from "../../src/errors.js";
import { createRedisClients, type RedisClients } from "../../src/redis.js";
import { within } from "../helpers/harness.js";

const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const SECRET = "redis-store-direct-test-secret-0123456789";
const MAX_AGE = 3600;
const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

const prefix = `cognito-bff-test:${randomUUID()}:`;
const clock = { now: Date.UTC(2030, 0, 1) };
const clients: RedisClients[] = [];
let raw: Redis;

beforeAll(() => {
  raw = new Redis(REDIS, { keyPrefix: prefix });
});

afterAll(async () => {
  // raw's own prefix applies to DEL, not to the names KEYS returns.
  const keys = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length));
  if (keys.length > 0) await raw.del(...keys);
  raw.disconnect();
  for (const c of clients) {
    c.redis.disconnect();
    c.subscriber.disconnect();
  }
});

async function store(options: { maxCopies?: number; url?: string; userAgent?: string; afterReady?: boolean } = {}): Promise<SessionStore> {
  const redis = createRedisClients({ url: options.url ?? REDIS, keyPrefix: prefix });
  redis.redis.on("error", () => {});
  redis.subscriber.on("error", () => {});
  clients.push(redis);
  // A store built on connections that are up already subscribes at once; one built before, when they come up.
  if (options.afterReady) await within(2000, async () => redis.redis.status === "ready" && redis.subscriber.status === "ready");
  const codec = await createSessionCodec({ secrets: [SECRET], cookieName: "authjs.session-token", maxAgeSeconds: MAX_AGE, now: () => clock.now });
  const created = createRedisSessionStore({
    redis,
    secrets: [SECRET],
    codec,
    attributes: { secure: false, now: () => clock.now },
    ...(options.maxCopies === undefined ? {} : { maxCopies: options.maxCopies }),
    ...(options.userAgent ? { currentContext: () => ({ userAgent: options.userAgent }) } : {}),
  });
  if (options.url === undefined) await within(2000, async () => redis.redis.status === "ready" && redis.subscriber.status === "ready");
  return created;
}

const session = (sub = `sub-${randomUUID()}`): SessionPayload => ({
  access_token: "at-1",
  refresh_token: `rt-${randomUUID()}`,
  expires_at: clock.now / 1000 + 600,
  issued_at: clock.now / 1000,
  cognito_username: sub,
  cognito_sub: sub,
});

const cookieOf = (lines: string[]) => lines.filter((l) => !/Max-Age=0/.test(l)).map((l) => l.slice(0, l.indexOf(";"))).join("; ");
const ticketOf = (lines: string[]) => /^authjs\.session-token=(v1\.[^;]+);/.exec(lines[0]!)![1]!;

describe("Redis session store, directly", () => {
  it("stores the session sealed under its ticket's key for the max age, and its index entry for the user's list", async () => {
    const s = await store();
    const mine = session();
    const lines = await s.write(mine, [], { userAgent: FIREFOX });
    const [, tag, id] = ticketOf(lines).split(".");
    const key = `s:{${tag}}:${id}`;
    const sealed = await raw.get(key);
    expect(sealed).toBeTruthy();
    expect(sealed).not.toContain(mine.refresh_token);
    expect(await raw.pttl(key)).toBeGreaterThan(MAX_AGE * 1000 - 5000);
    expect(await raw.pttl(key)).toBeLessThanOrEqual(MAX_AGE * 1000);
    const read = (await s.read(cookieOf(lines))).session!;
    expect(read).toMatchObject({ ...mine, iat: clock.now / 1000, exp: clock.now / 1000 + MAX_AGE, sid: expect.any(String) });
    const [index] = await raw.keys(`${prefix}u:{${tag}}:*`).then((keys) => keys.map((k) => k.slice(prefix.length)));
    expect(await raw.pttl(index!)).toBeGreaterThan(MAX_AGE * 1000 - 5000);
    const entry = JSON.parse((await raw.hget(index!, read.sid!))!) as Record<string, unknown>;
    expect(entry).toMatchObject({ id, created: clock.now / 1000, lastUsed: clock.now / 1000, userAgent: "Firefox 128 on Linux" });
    expect(entry.rt).not.toContain(mine.refresh_token);
  });

  it("a later write keeps the ticket, the creation time and the device, and moves lastUsed", async () => {
    const s = await store();
    const mine = session();
    const first = await s.write(mine, [], { userAgent: FIREFOX });
    const read = (await s.read(cookieOf(first))).session!;
    clock.now += 60_000;
    const second = await s.write(read, []);
    expect(ticketOf(second)).toBe(ticketOf(first));
    expect(await s.directory!.list(mine.cognito_sub)).toEqual([
      { sid: read.sid, created: clock.now / 1000 - 60, lastUsed: clock.now / 1000, userAgent: "Firefox 128 on Linux" },
    ]);
  });

  it("Auth.js's encode gives a ticket its decode opens; the device comes from the current request", async () => {
    const s = await store({ userAgent: FIREFOX });
    const mine = session();
    const ticket = await s.authjs!.encode({ ...mine });
    expect(ticket).toMatch(/^v1\./);
    expect(await s.authjs!.decode(ticket)).toMatchObject(mine);
    expect((await s.directory!.list(mine.cognito_sub))[0]!.userAgent).toBe("Firefox 128 on Linux");
    await expect(s.authjs!.encode({ name: "not a session" })).rejects.toThrow("Auth.js asked to store a token that is not a session");
  });

  it("a cookie-mode cookie opens, and is due to be written (moved into Redis); a stored session is due at half its age", async () => {
    const s = await store();
    const codec = await createSessionCodec({ secrets: [SECRET], cookieName: "authjs.session-token", maxAgeSeconds: MAX_AGE, now: () => clock.now });
    const mine = session();
    const jwe = await codec.encode(mine);
    const fromCookie = (await s.read(`authjs.session-token=${jwe}`)).session!;
    expect(fromCookie).toMatchObject(mine);
    expect(s.isRenewalDue(fromCookie)).toBe(true);
    expect(await s.authjs!.decode(jwe)).toMatchObject(mine);
    const stored = (await s.read(cookieOf(await s.write(mine, [])))).session!;
    expect(s.isRenewalDue(stored)).toBe(false);
    clock.now += (MAX_AGE / 2) * 1000;
    expect(s.isRenewalDue(stored)).toBe(false);
    clock.now += 1000;
    expect(s.isRenewalDue(stored)).toBe(true);
  });

  it("a session is gone once its exp has passed, from a copy too", async () => {
    const s = await store();
    const cookie = cookieOf(await s.write(session(), []));
    expect((await s.read(cookie)).session).not.toBeNull();
    expect((await s.read(cookie)).session).not.toBeNull();
    clock.now += MAX_AGE * 1000;
    expect((await s.read(cookie)).session).toBeNull();
  });

  it("a ticket with another secret, or for a key that holds nothing, is no session", async () => {
    const s = await store();
    const ticket = ticketOf(await s.write(session(), []));
    const parts = ticket.split(".");
    expect((await s.read(`authjs.session-token=${parts.slice(0, 3).join(".")}.${"A".repeat(22)}`)).session).toBeNull();
    expect((await s.read(`authjs.session-token=${parts[0]}.${parts[1]}.${"B".repeat(22)}.${parts[3]}`)).session).toBeNull();
  });

  it("a replica drops its copy when another replica writes or ends the session", async () => {
    const a = await store({ afterReady: true });
    const b = await store();
    const mine = session();
    const cookie = cookieOf(await a.write(mine, []));
    // A replica keeps copies once its subscription is confirmed: then two reads give the same object.
    await within(2000, async () => (await a.read(cookie)).session === (await a.read(cookie)).session);
    await b.write({ ...(await b.read(cookie)).session!, access_token: "at-2" }, []);
    await within(2000, async () => (await a.read(cookie)).session!.access_token === "at-2");
    await b.end((await b.read(cookie)).session!);
    await within(2000, async () => (await a.read(cookie)).session === null);
  });

  it("without copies (0), every read asks Redis", async () => {
    const s = await store({ maxCopies: 0 });
    const cookie = cookieOf(await s.write(session(), []));
    // Time enough for a subscription to be confirmed, were there one.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const first = (await s.read(cookie)).session;
    expect((await s.read(cookie)).session).toEqual(first);
    expect((await s.read(cookie)).session).not.toBe(first);
  });

  it("the user's list drops sessions that expired on their own; ending some returns their refresh tokens, unknown ids skipped", async () => {
    const s = await store();
    const sub = `sub-${randomUUID()}`;
    const one = { ...session(sub), refresh_token: "rt-one" };
    const two = { ...session(sub), refresh_token: "rt-two" };
    const three = { ...session(sub), refresh_token: "rt-three" };
    const sids = [];
    for (const each of [one, two, three]) sids.push((await s.read(cookieOf(await s.write(each, [])))).session!.sid!);
    const listed = await s.directory!.list(sub);
    expect(listed.map((e) => e.sid).sort()).toEqual([...sids].sort());
    // One session's key expires on its own (deleted here), its index entry stays behind.
    const [expiring] = await raw.keys(`${prefix}s:{${userTag(sub)}}:*`);
    await raw.del(expiring!.slice(prefix.length));
    expect(await s.directory!.list(sub)).toHaveLength(2);
    const left = (await s.directory!.list(sub)).map((e) => e.sid);
    const ended = await s.directory!.end(sub, [left[0]!, "no-such-sid"]);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.sid).toBe(left[0]);
    expect(["rt-one", "rt-two", "rt-three"]).toContain(ended[0]!.refreshToken);
    expect(await s.directory!.list(sub)).toHaveLength(1);
    const rest = await s.directory!.end(sub);
    expect(rest.map((e) => e.sid)).toEqual([left[1]]);
    expect(await s.directory!.list(sub)).toEqual([]);
    expect(await s.directory!.end(sub)).toEqual([]);
  });

  it("an index entry written by an earlier release still gives its refresh token back when the session is ended (stored format v1)", async () => {
    const s = await store();
    const index = "u:{z3TDIvRR}:z3TDIvRRlW7L60tl3PJ2lCx1zuK5h32g8QOEsghIw-4";
    const entry = { id: "AAECAwQFBgcICQoLDA0ODw", created: 1, lastUsed: 2, rt: "3YUKCbul-IIJfskRorpU9UYn21_F59XNpKmQsK5F6ojbscEsafOv" };
    await raw.hset(index, "golden-sid", JSON.stringify(entry));
    expect(await s.directory!.end("golden-sub-0001", ["golden-sid"])).toEqual([{ sid: "golden-sid", refreshToken: "rt-golden" }]);
  });

  it("ending every session of one user leaves another user's sessions and list alone", async () => {
    const s = await store();
    const ada = session();
    const bob = session();
    const adaSid = (await s.read(cookieOf(await s.write(ada, [])))).session!.sid;
    const bobCookie = cookieOf(await s.write(bob, []));
    const bobSid = (await s.read(bobCookie)).session!.sid;
    expect((await s.directory!.list(ada.cognito_sub)).map((e) => e.sid)).toEqual([adaSid]);
    expect((await s.directory!.end(ada.cognito_sub)).map((e) => e.sid)).toEqual([adaSid]);
    expect((await s.directory!.list(bob.cognito_sub)).map((e) => e.sid)).toEqual([bobSid]);
    expect((await s.read(bobCookie)).session).not.toBeNull();
  });

  it("signing out deletes the session and its index entry", async () => {
    const s = await store();
    const mine = session();
    const cookie = cookieOf(await s.write(mine, []));
    const read = (await s.read(cookie)).session!;
    await s.end(read);
    expect((await s.read(cookie)).session).toBeNull();
    expect(await s.directory!.list(mine.cognito_sub)).toEqual([]);
  });

  it("Redis unreachable is a 503 with Retry-After 2 that keeps the session, never 'no session'", async () => {
    const s = await store({ url: "redis://127.0.0.1:1" });
    const error = await s.read("authjs.session-token=v1.AAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BffError);
    expect(error).toMatchObject({
      code: "temporarily_unavailable",
      retryAfterSeconds: 2,
      description: "The session store is temporarily unavailable. Retry; the session is kept.",
      logDetail: expect.stringMatching(/^session store \(redis\) read failed: /),
    });
    await expect(s.write(session(), [])).rejects.toMatchObject({ code: "temporarily_unavailable", logDetail: expect.stringMatching(/^session store \(redis\) read failed/) });
  });
});
