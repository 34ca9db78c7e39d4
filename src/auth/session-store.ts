/**
 * Session cookie I/O without a framework: Cookie header in, Set-Cookie values
 * out. Used by `/token` and the proxy; Auth.js reads and writes the same
 * cookies through its own code, in the same format.
 *
 * Decrypted sessions are cached by the SHA-256 of the sealed cookie, so the
 * hot path of `GET /token` costs a hash instead of a JWE decryption. The cache
 * is bounded in entries, an entry never outlives the session's own `exp`, and
 * it holds exactly what the cookie holds, for a holder of that cookie.
 */
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { SessionCodec } from "./session-codec.js";
import {
  clearSessionCookies,
  parseCookieHeader,
  readSessionCookie,
  writeSessionCookies,
  type CookieAttributes,
} from "./session-cookies.js";
import type { RevocationCheck } from "./revocations.js";
import { toSessionPayload, withSessionId, type SessionPayload } from "./session-payload.js";

export interface SessionRead {
  /** The session, or null when there is none or it is not usable. */
  session: SessionPayload | null;
  /** Names of the session cookies present on the request (to replace or expire them). */
  cookieNames: string[];
}

/** What a write knows of the request that caused it (for the user's list of sessions). */
export interface WriteContext {
  userAgent?: string | undefined;
}

/** One of a user's sessions as `GET /auth/sessions` shows it. */
export interface SessionListEntry {
  /** The session's public id (`sid`): not a credential. */
  sid: string;
  /** Epoch seconds. */
  created: number;
  lastUsed: number;
  userAgent: string | undefined;
}

/** A user's sessions, where the store can enumerate them (SESSION_STORE=redis). */
export interface SessionDirectory {
  list(sub: string): Promise<SessionListEntry[]>;
  /**
   * Ends these sessions of `sub` (all of them without `sids`) and returns their
   * refresh tokens, for revocation at Cognito. Unknown ids are skipped.
   */
  end(sub: string, sids?: readonly string[]): Promise<Array<{ sid: string; refreshToken: string | undefined }>>;
}

/**
 * Where sessions live: sealed in the cookie (`SESSION_STORE=cookie`) or in
 * Redis behind a ticket in the cookie (`redis`). Routes, the relay, the
 * refresher and the Auth.js callbacks use this interface and nothing else.
 */
export interface SessionStore {
  readonly cookieName: string;
  /** True when the session must be written back although its tokens did not change (rolling expiry, a move into Redis). */
  isRenewalDue(session: SessionPayload): boolean;
  /**
   * @throws {BffError} `session_expired` when the session was signed out or revoked (see revocations.ts);
   *   `temporarily_unavailable` when the store cannot answer (Redis down): the session is kept.
   */
  read(cookieHeader: string | undefined): Promise<SessionRead>;
  /** Stores a new or updated session; returns the Set-Cookie values. @throws {BffError} `temporarily_unavailable`. */
  write(session: SessionPayload, presentNames: readonly string[], context?: WriteContext): Promise<string[]>;
  /** Set-Cookie values that end the session in this browser. */
  clear(presentNames: readonly string[]): string[];
  /** Names of the session cookies on a request, for clearing them. */
  presentCookieNames(cookieHeader: string | undefined): string[];
  /** Deletes the session where it is stored (sign-out); the cookie store holds nothing to delete. */
  end(session: SessionPayload): Promise<void>;
  /** Auth.js's `jwt.encode`/`jwt.decode`, where the store is not Auth.js's own cookie format. */
  readonly authjs?: {
    encode(token: Record<string, unknown>): Promise<string>;
    decode(value: string): Promise<SessionPayload | null>;
  };
  /** The users' sessions, where the store can list them. */
  readonly directory?: SessionDirectory;
}

export function sessionCookieName(secure: boolean): string {
  return `${secure ? "__Secure-" : ""}authjs.session-token`;
}

export interface SessionCacheOptions {
  /** Most decrypted sessions kept; 0 turns the cache off. */
  maxEntries: number;
}

export const DEFAULT_SESSION_CACHE: SessionCacheOptions = { maxEntries: 10_000 };

export function createSessionStore(
  codec: SessionCodec,
  attributes: Omit<CookieAttributes, "maxAgeSeconds">,
  cacheOptions: SessionCacheOptions = DEFAULT_SESSION_CACHE,
  revocations?: RevocationCheck,
): SessionStore {
  const cookieAttributes: CookieAttributes = { ...attributes, maxAgeSeconds: codec.maxAgeSeconds };
  const { cookieName, maxAgeSeconds } = codec;
  const { now } = attributes;
  const cache =
    cacheOptions.maxEntries > 0 ? new LRUCache<string, Readonly<SessionPayload>>({ max: cacheOptions.maxEntries }) : undefined;

  async function open(sealed: string): Promise<SessionPayload | null> {
    // Stryker disable next-line StringLiteral: without a cache the key is never used.
    const key = cache ? createHash("sha256").update(sealed).digest("base64url") : "";
    const cached = cache?.get(key);
    if (cached) {
      if (typeof cached.exp === "number" && cached.exp * 1000 > now()) return cached;
      // Stryker disable next-line CallExpression: an expired entry is never served and is overwritten below; only memory differs.
      cache!.delete(key);
    }
    const session = toSessionPayload(await codec.decode(sealed));
    // Stryker disable next-line ConditionalExpression: a cached session without exp is never served (checked above).
    if (session && cache && typeof session.exp === "number") cache.set(key, Object.freeze(session));
    return session;
  }

  return {
    cookieName,

    isRenewalDue(session) {
      return typeof session.exp !== "number" || session.exp - now() / 1000 < maxAgeSeconds / 2;
    },

    async read(cookieHeader) {
      const { value, names } = readSessionCookie(parseCookieHeader(cookieHeader), cookieName);
      if (!value) return { session: null, cookieNames: names };
      const session = await open(value);
      // Checked on every read, cached or not: /token and the proxy both read here.
      if (session) revocations?.assertActive(session);
      return { session, cookieNames: names };
    },

    async write(session, presentNames) {
      // Every cookie written carries a session id, so sign-out can end all of its copies.
      return writeSessionCookies(cookieName, await codec.encode(withSessionId(session)), presentNames, cookieAttributes);
    },

    clear(presentNames) {
      return clearSessionCookies(presentNames, cookieAttributes);
    },

    presentCookieNames(cookieHeader) {
      return readSessionCookie(parseCookieHeader(cookieHeader), cookieName).names;
    },

    async end() {
      // Nothing stored server-side: the session id's revocation (revocations.ts) ends its copies.
    },
  };
}
