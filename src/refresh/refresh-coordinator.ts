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
import { BffError } from "../errors.js";
import { SingleFlight } from "./single-flight.js";

/** The fields a refresh produces; everything else in a session stays the caller's own. */
export type RefreshedTokens = Pick<SessionTokens, "access_token" | "refresh_token" | "expires_at" | "issued_at" | "id_token">;

/**
 * How a caller got its tokens: it performed the refresh, waited on one in this
 * process or on another replica, or found a recent result (late request).
 */
export type RefreshVia = "performed" | "in_process" | "redis" | "late";

/**
 * Whether a result obtained for someone else (a concurrent request, another replica, the result cache) can
 * answer this caller: newer than its token, with enough life left. A refresh this caller performs itself always can.
 */
export type AcceptResult = (tokens: RefreshedTokens) => boolean;

const anyResult: AcceptResult = () => true;

/** How often a caller joins a refresh whose result it cannot use before giving up with a 503 (never reached in practice). */
const MAX_ROUNDS = 3;

export interface RefreshOutcome {
  tokens: RefreshedTokens;
  via: RefreshVia;
}

export interface RefreshCoordinator {
  /**
   * Runs `task` for `key` unless a refresh for it is running or just finished with a result `acceptable`
   * to this caller; callers sharing one refresh get the same result or error. An unacceptable cached or
   * shared result starts a new refresh, still one at a time per key.
   */
  refresh(key: string, task: () => Promise<RefreshedTokens>, acceptable?: AcceptResult): Promise<RefreshOutcome>;
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

  /** `inner` is this caller's own refresh (it applies `acceptable` to what it finds in Redis). */
  async run(key: string, inner: () => Promise<RefreshOutcome>, acceptable: AcceptResult = anyResult): Promise<RefreshOutcome> {
    for (let round = 1; ; round++) {
      const late = this.recent(key);
      if (late && acceptable(late)) return { tokens: late, via: "late" };
      const { promise, joined } = this.#flights.run(key, async () => {
        const outcome = await inner();
        this.remember(key, outcome.tokens);
        return outcome;
      });
      const outcome = await promise;
      if (!joined) return outcome;
      // The refresh joined was started for another caller, whose requirement may be weaker than this one's.
      if (acceptable(outcome.tokens)) return { tokens: outcome.tokens, via: "in_process" };
      if (round >= MAX_ROUNDS) {
        throw new BffError("temporarily_unavailable", { logDetail: "no refresh result acceptable to this request after several shared refreshes", retryAfterSeconds: 1 });
      }
    }
  }
}

/** In-process coordination only (no REDIS_URL). */
export function createLocalCoordinator(options: LocalCoordinatorOptions): RefreshCoordinator {
  const local = new LocalCoordinator(options);
  return {
    refresh: (key, task, acceptable) => local.run(key, async () => ({ tokens: await task(), via: "performed" }), acceptable),
    forget: async (key) => local.forget(key),
    status: () => ({ mode: "local" }),
    close: async () => {},
  };
}
