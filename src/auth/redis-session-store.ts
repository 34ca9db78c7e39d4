/**
 * `SESSION_STORE=redis`: the tokens live in Redis, the cookie holds a ticket
 * (see session-ticket.ts), under 100 bytes whatever the tokens weigh.
 *
 * Keys, with the user's tag as Redis Cluster hash tag so that a session and its
 * user's index share a slot:
 * - `s:{<tag>}:<id>`: the sealed session, with a TTL equal to what remains of
 *   the session's max age, renewed by use like the rolling cookie;
 * - `u:{<tag>}:<sub hash>`: the user's index, a hash from session id (`sid`,
 *   the public id of a session) to what `GET /auth/sessions` shows and what
 *   ending it needs: the key's id and the refresh token sealed under
 *   `AUTH_SECRET` alone, so that "sign out that device" and "sign out
 *   everywhere" can revoke it at Cognito without that device's cookie.
 *
 * A replica keeps what it read for up to 30 s (bounded in entries), keyed by
 * the SHA-256 of the whole ticket, so the hot path costs a hash, not a Redis
 * round-trip and a decryption. Every write and deletion is announced on the
 * channel `<prefix>session-changed`, and each replica drops its copy when it
 * hears it; while its subscription is not up, a replica keeps no copies at all
 * (a notice it could miss would leave a deleted session alive). Redis failing
 * is a `503 temporarily_unavailable`, never "no session".
 */
import { createHash, hkdfSync } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { RedisClients } from "../redis.js";
import { BffError } from "../errors.js";
import { openJson, sealJson } from "../seal.js";
import type { RevocationCheck } from "./revocations.js";
import type { SessionCodec } from "./session-codec.js";
import { clearSessionCookies, parseCookieHeader, readSessionCookie, writeSessionCookies, type CookieAttributes } from "./session-cookies.js";
import { toSessionPayload, withSessionId, type SessionPayload } from "./session-payload.js";
import type { SessionListEntry, SessionStore, WriteContext } from "./session-store.js";
import { createTicketSealer, formatTicket, newTicket, parseTicket, userTag, type Ticket } from "./session-ticket.js";

/** The ticket a session was read with: kept on the in-memory payload only (a symbol is never serialized). */
const TICKET = Symbol("ticket");
type WithTicket = SessionPayload & { [TICKET]?: Ticket };

const RETRY_AFTER_SECONDS = 2;
const REVOCATION_COPY_INFO = "cognito-bff revocation copy v1";

interface IndexEntry {
  /** The Redis key's id (not a credential: the ticket's secret is not here). */
  id: string;
  created: number;
  lastUsed: number;
  userAgent?: string;
  /** The refresh token sealed under AUTH_SECRET alone (for revocation at Cognito). */
  rt: string;
}

/** How long a replica answers from its own copy of a session, at most. */
const COPY_TTL_MS = 30_000;

export interface RedisSessionStoreOptions {
  redis: RedisClients;
  /** Most sessions a replica keeps copies of; 0 turns the copies off. Default 10 000. */
  maxCopies?: number;
  secrets: readonly string[];
  codec: SessionCodec;
  attributes: Omit<CookieAttributes, "maxAgeSeconds">;
  revocations?: RevocationCheck;
  /** What the current request says of itself, for writes that have no request at hand (Auth.js's encode). */
  currentContext?: () => WriteContext;
}

const sessionKey = (ticket: Pick<Ticket, "tag" | "id">) => `s:{${ticket.tag}}:${ticket.id}`;
/** What a copy is kept under besides the ticket id: the SHA-256 of the whole ticket, secret included. */
const fingerprintOf = (ticket: Ticket) => createHash("sha256").update(formatTicket(ticket)).digest("base64url");
const indexKey = (sub: string) => `u:{${userTag(sub)}}:${createHash("sha256").update(sub).digest("base64url")}`;

/** A short, log- and UI-safe summary of a User-Agent header. */
export function summarizeUserAgent(userAgent: string | undefined): string | undefined {
  if (!userAgent) return undefined;
  const browser = /(Edg|OPR|Firefox|Chrome|Safari)\/(\d+)/.exec(userAgent);
  const os = /(Windows|Android|iPhone|iPad|Mac OS X|Linux)/.exec(userAgent);
  const name = browser ? `${browser[1] === "Edg" ? "Edge" : browser[1] === "OPR" ? "Opera" : browser[1]} ${browser[2]}` : userAgent.replace(/[^\w ./()-]/g, "").slice(0, 40);
  return os ? `${name} on ${os[1] === "Mac OS X" ? "macOS" : os[1]}` : name;
}

export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { codec, revocations } = options;
  const { redis, subscriber } = options.redis;
  // Stryker disable next-line StringLiteral: every replica derives the same name; another deployment's notices would only drop copies.
  const channel = `${options.redis.keyPrefix}session-changed`;
  const maxCopies = options.maxCopies ?? 10_000;
  /** Ticket id -> the session read with that ticket, and the SHA-256 of the whole ticket that read it. */
  const copies = maxCopies > 0 ? new LRUCache<string, { session: WithTicket; fingerprint: string }>({ max: maxCopies, ttl: COPY_TTL_MS }) : undefined;
  let listening = false;
  /** Counts notices: a read that a notice overtook (the reply and the notice come on two connections) is not kept. */
  let notices = 0;
  const stopCopying = () => {
    listening = false;
    copies?.clear();
  };
  if (copies) {
    subscriber.on("message", (from: string, id: string) => {
      // Stryker disable next-line ConditionalExpression: a message of another channel would only drop a copy (a read from Redis next).
      if (from !== channel) return;
      // Stryker disable next-line AssignmentOperator: only a change of the count matters, not its direction.
      notices += 1;
      copies.delete(id);
    });
    // Copies only while notices can arrive: none while the subscription is down, none kept across a reconnect.
    subscriber.on("close", stopCopying);
    subscriber.on("ready", () => {
      stopCopying();
      subscriber.subscribe(channel).then(() => (listening = true), stopCopying);
    });
    if (subscriber.status === "ready") subscriber.subscribe(channel).then(() => (listening = true), stopCopying);
  }
  const { cookieName, maxAgeSeconds } = codec;
  const cookieAttributes: CookieAttributes = { ...options.attributes, maxAgeSeconds };
  const { now } = options.attributes;
  const sealer = createTicketSealer(options.secrets);
  const revocationKeys = options.secrets.map((secret) => Buffer.from(hkdfSync("sha256", secret, "", REVOCATION_COPY_INFO, 32)));

  async function command<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw new BffError("temporarily_unavailable", {
        description: "The session store is temporarily unavailable. Retry; the session is kept.",
        logDetail: `session store (redis) ${what} failed: ${(error as Error)?.message ?? "unknown"}`,
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
  }

  async function load(ticket: Ticket): Promise<WithTicket | null> {
    // Stryker disable next-line StringLiteral: without copies the fingerprint is never compared.
    const fingerprint = copies ? fingerprintOf(ticket) : "";
    const copy = copies?.get(ticket.id);
    if (copy && copy.fingerprint === fingerprint && typeof copy.session.exp === "number" && copy.session.exp * 1000 > now()) return copy.session;
    const noticesBefore = notices;
    const sealed = await command("read", () => redis.get(sessionKey(ticket)));
    if (!sealed) return null;
    const session = toSessionPayload(sealer.open(sealed, ticket) as Record<string, unknown> | undefined) as WithTicket | null;
    if (!session || typeof session.exp !== "number" || session.exp * 1000 <= now()) return null;
    session[TICKET] = ticket;
    if (copies && listening && notices === noticesBefore) copies.set(ticket.id, { session: Object.freeze(session), fingerprint });
    return session;
  }

  /** This replica's copy goes now; the others' when they hear the notice (sent by a replica without copies too). */
  async function announce(ticketId: string): Promise<void> {
    copies?.delete(ticketId);
    await command("notify", () => redis.publish(channel, ticketId));
  }

  /** Stores the session (a new ticket for a new or migrated one) and its index entry; returns the ticket. */
  async function save(session: SessionPayload, context: WriteContext): Promise<Ticket> {
    const ticket = (session as WithTicket)[TICKET] ?? newTicket(session.cognito_sub);
    const nowSeconds = Math.floor(now() / 1000);
    const stored = { ...withSessionId(session), iat: nowSeconds, exp: nowSeconds + maxAgeSeconds };
    const sid = stored.sid!;
    const index = indexKey(session.cognito_sub);
    const previous = await command("read", () => redis.hget(index, sid));
    const known = previous ? (JSON.parse(previous) as IndexEntry) : undefined;
    const userAgent = summarizeUserAgent(context.userAgent) ?? known?.userAgent;
    const entry: IndexEntry = {
      id: ticket.id,
      created: known?.id === ticket.id ? known.created : nowSeconds,
      lastUsed: nowSeconds,
      ...(userAgent ? { userAgent } : {}),
      rt: sealJson(revocationKeys[0]!, Buffer.from(`${index} ${sid}`), stored.refresh_token),
    };
    const ttlMs = maxAgeSeconds * 1000;
    const results = await command("write", () =>
      redis.multi().set(sessionKey(ticket), sealer.seal(stored, ticket), "PX", ttlMs).hset(index, sid, JSON.stringify(entry)).pexpire(index, ttlMs).exec(),
    );
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw new BffError("temporarily_unavailable", { logDetail: "session store (redis) write was not applied", retryAfterSeconds: RETRY_AFTER_SECONDS });
    await announce(ticket.id);
    return ticket;
  }

  return {
    cookieName,

    authjs: {
      async encode(token) {
        const session = toSessionPayload(token);
        if (!session) throw new Error("Auth.js asked to store a token that is not a session");
        return formatTicket(await save(session, options.currentContext?.() ?? {}));
      },
      async decode(value) {
        const ticket = parseTicket(value);
        return ticket ? load(ticket) : toSessionPayload(await codec.decode(value));
      },
    },

    isRenewalDue(session) {
      // A session read from a cookie-mode cookie has no ticket yet: write it (move it into Redis).
      if (!(session as WithTicket)[TICKET]) return true;
      return typeof session.exp !== "number" || session.exp - now() / 1000 < maxAgeSeconds / 2;
    },

    async read(cookieHeader) {
      const { value, names } = readSessionCookie(parseCookieHeader(cookieHeader), cookieName);
      if (!value) return { session: null, cookieNames: names };
      const ticket = parseTicket(value);
      // Not a ticket: a cookie of SESSION_STORE=cookie, moved into Redis when it is written back.
      const session = ticket ? await load(ticket) : toSessionPayload(await codec.decode(value));
      if (session) revocations?.assertActive(session);
      return { session, cookieNames: names };
    },

    async write(session, presentNames, context) {
      const ticket = await save(session, context ?? options.currentContext?.() ?? {});
      return writeSessionCookies(cookieName, formatTicket(ticket), presentNames, cookieAttributes);
    },

    clear(presentNames) {
      return clearSessionCookies(presentNames, cookieAttributes);
    },

    presentCookieNames(cookieHeader) {
      return readSessionCookie(parseCookieHeader(cookieHeader), cookieName).names;
    },

    async end(session) {
      const ticket = (session as WithTicket)[TICKET];
      const index = indexKey(session.cognito_sub);
      const multi = redis.multi();
      if (ticket) multi.del(sessionKey(ticket));
      if (session.sid) multi.hdel(index, session.sid);
      await command("delete", () => multi.exec());
      if (ticket) await announce(ticket.id);
    },

    directory: {
      async list(sub) {
        const index = indexKey(sub);
        const entries = Object.entries(await command("read", () => redis.hgetall(index))).map(([sid, json]) => ({ sid, entry: JSON.parse(json) as IndexEntry }));
        // A session that expired on its own leaves its index entry behind: drop those.
        const alive = await command("read", () => Promise.all(entries.map(({ entry }) => redis.exists(sessionKey({ tag: userTag(sub), id: entry.id })))));
        const gone = entries.filter((_, i) => alive[i] === 0).map(({ sid }) => sid);
        if (gone.length > 0) await command("write", () => redis.hdel(index, ...gone));
        return entries
          .filter((_, i) => alive[i] === 1)
          .map(({ sid, entry }): SessionListEntry => ({ sid, created: entry.created, lastUsed: entry.lastUsed, userAgent: entry.userAgent }));
      },

      async end(sub, sids) {
        const index = indexKey(sub);
        const all = await command("read", () => redis.hgetall(index));
        const ended = (sids ?? Object.keys(all)).filter((sid) => all[sid] !== undefined);
        if (ended.length === 0) return [];
        const entries = ended.map((sid) => ({ sid, entry: JSON.parse(all[sid]!) as IndexEntry }));
        const multi = redis.multi().hdel(index, ...ended);
        for (const { entry } of entries) multi.del(sessionKey({ tag: userTag(sub), id: entry.id }));
        await command("delete", () => multi.exec());
        await Promise.all(entries.map(({ entry }) => announce(entry.id)));
        return entries.map(({ sid, entry }) => {
          const refreshToken = openJson(revocationKeys, Buffer.from(`${index} ${sid}`), entry.rt);
          return { sid, refreshToken: typeof refreshToken === "string" ? refreshToken : undefined };
        });
      },
    },
  };
}
