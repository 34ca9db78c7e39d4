/**
 * At most one Cognito refresh per refresh token at a time: in-process
 * single-flight, plus a short-lived cache of recent results so that a late
 * request still carrying the old cookie (one that was already in flight,
 * another tab) gets the refreshed tokens instead of refreshing again.
 *
 * Keys are `refreshTokenKey(refreshToken)`: a hash, never the token.
 */
import { LRUCache } from "lru-cache";
import type { SessionTokens } from "../auth/session-payload.js";
import { SingleFlight } from "./single-flight.js";

/** The fields a refresh produces; everything else in a session stays the caller's own. */
export type RefreshedTokens = Pick<SessionTokens, "access_token" | "refresh_token" | "expires_at" | "issued_at" | "id_token">;

/**
 * How a caller got its tokens: it performed the refresh, waited on one in this
 * process or on another replica, or found a recent result (late request).
 */
export type RefreshVia = "performed" | "in_process" | "redis" | "late";

export interface RefreshOutcome {
  tokens: RefreshedTokens;
  via: RefreshVia;
}

export interface RefreshCoordinator {
  /** Runs `task` for `key` unless a refresh for it is running or just finished; every caller gets the same result or error. */
  refresh(key: string, task: () => Promise<RefreshedTokens>): Promise<RefreshOutcome>;
  /** Drops the cached result for `key` (sign-out: a copy of the cookie must not pick it up). Never rejects. */
  forget(key: string): Promise<void>;
  /** For readiness and metrics: whether cross-replica coordination is on and working. */
  status(): { mode: "local" | "redis"; redis?: "up" | "down" };
  close(): Promise<void>;
}

export interface LocalCoordinatorOptions {
  /** Epoch milliseconds. */
  now: () => number;
  /** How long a result serves late requests (at least the rotation grace period). */
  resultTtlSeconds: number;
  /** Most recent results kept. */
  maxResults?: number;
}

interface CachedResult {
  tokens: RefreshedTokens;
  expiresAtMs: number;
}

/**
 * The in-process layer, used alone without Redis and in front of Redis with
 * it. `inner` performs a refresh that no other caller in this process has
 * started (directly, or through Redis).
 */
export class LocalCoordinator {
  readonly #flights = new SingleFlight<RefreshOutcome>();
  readonly #recent: LRUCache<string, CachedResult>;
  readonly #now: () => number;
  readonly #ttlMs: number;

  constructor({ now, resultTtlSeconds, maxResults = 10_000 }: LocalCoordinatorOptions) {
    this.#now = now;
    this.#ttlMs = resultTtlSeconds * 1000;
    this.#recent = new LRUCache({ max: maxResults });
  }

  /** A result for `key` from the last `resultTtlSeconds`, if any. */
  recent(key: string): RefreshedTokens | undefined {
    const hit = this.#recent.get(key);
    if (!hit) return undefined;
    if (hit.expiresAtMs > this.#now()) return hit.tokens;
    this.#recent.delete(key);
    return undefined;
  }

  forget(key: string): void {
    this.#recent.delete(key);
  }

  remember(key: string, tokens: RefreshedTokens): void {
    this.#recent.set(key, { tokens, expiresAtMs: this.#now() + this.#ttlMs });
  }

  async run(key: string, inner: () => Promise<RefreshOutcome>): Promise<RefreshOutcome> {
    const late = this.recent(key);
    if (late) return { tokens: late, via: "late" };
    const { promise, joined } = this.#flights.run(key, async () => {
      const outcome = await inner();
      this.remember(key, outcome.tokens);
      return outcome;
    });
    const outcome = await promise;
    return joined ? { tokens: outcome.tokens, via: "in_process" } : outcome;
  }
}

/** In-process coordination only (no REDIS_URL). */
export function createLocalCoordinator(options: LocalCoordinatorOptions): RefreshCoordinator {
  const local = new LocalCoordinator(options);
  return {
    refresh: (key, task) => local.run(key, async () => ({ tokens: await task(), via: "performed" })),
    forget: async (key) => local.forget(key),
    status: () => ({ mode: "local" }),
    close: async () => {},
  };
}
