/**
 * Readiness: can this replica serve? Cognito's JWKS, and its discovery document
 * where sign-in takes its endpoints from it (no COGNITO_DOMAIN), must answer
 * within a timeout (a replica that cannot reach Cognito can neither
 * sign users in nor refresh), and Redis, when configured, must answer a PING (a
 * replica without Redis cannot coordinate refreshes with the others, so with
 * rotation it could end sessions; taking it out of rotation is the safe side).
 *
 * The Cognito result is cached (a success for longer than a failure) and one
 * check runs at a time, so probes from a load balancer never turn into a load
 * on Cognito and an answer never waits longer than the timeout.
 */

/** One dependency's state, as shown in the `/readyz` body. */
export interface DependencyCheck {
  status: "up" | "down" | "not_configured";
  /** Why it is down: a short reason without URLs or credentials. */
  error?: string;
  /** How long the check took (for Cognito: when it was last run, not served from the cache). */
  duration_ms?: number;
  /** ISO time of the check whose result is shown. */
  checked_at?: string;
}

export interface ReadinessReport {
  status: "ready" | "not_ready";
  checks: { cognito: DependencyCheck; redis: DependencyCheck & { coordination?: "redis" | "local" } };
}

export interface ReadinessOptions {
  /** The Cognito issuer; discovery is `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  /**
   * The Hosted UI base URL (COGNITO_DOMAIN). When set, sign-in takes no endpoint
   * from discovery, so discovery is not checked, only the JWKS at its fixed place.
   */
  domain?: string | undefined;
  /** Deadline for one Cognito check (discovery and JWKS together). Default 2000. */
  timeoutMs?: number;
  /** How long a successful Cognito check is reused. Default 30 000. */
  successTtlMs?: number;
  /** How long a failed Cognito check is reused. Default 3000. */
  failureTtlMs?: number;
  /** PINGs Redis; absent when Redis is not configured. */
  pingRedis?: () => Promise<unknown>;
  /** Called with each dependency's state after a check (metrics). */
  onResult?: (dependency: "cognito" | "redis", up: boolean) => void;
  fetch?: typeof fetch;
  /** Epoch milliseconds. */
  now?: () => number;
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
}

const REDIS_TIMEOUT_MS = 1000;

/** A short reason for a failed fetch, never the URL (it could carry credentials). */
function describeFailure(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; cause?: { code?: unknown } } | null;
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code;
  if (typeof code === "string") return `connection failed (${code})`;
  if (e?.name === "SyntaxError") return "answer is not JSON";
  return (error as Error)?.message?.slice(0, 100) ?? "failed";
}

async function fetchJson(fetchFn: typeof fetch, url: string, signal: AbortSignal, what: string): Promise<Record<string, unknown>> {
  const response = await fetchFn(url, { signal, headers: { accept: "application/json" } });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`${what} answered ${response.status}`);
  }
  const body = (await response.json()) as unknown;
  if (!body || typeof body !== "object") throw new Error(`${what} is not a JSON object`);
  return body as Record<string, unknown>;
}

/**
 * Checks, under one deadline, what this replica needs from Cognito. With a
 * Hosted UI domain only the JWKS, which Cognito always serves at
 * `${issuer}/.well-known/jwks.json` (an emulator's discovery may name other
 * hosts: cognito-local's names its default port 9229). Without one, the
 * discovery document, which must name the endpoints sign-in takes from it, and
 * the JWKS it names.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
 */
export async function checkCognito(issuer: string, timeoutMs: number, fetchFn: typeof fetch = fetch, domain?: string): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  let jwksUri = `${issuer}/.well-known/jwks.json`;
  if (!domain) {
    const discovery = await fetchJson(fetchFn, `${issuer}/.well-known/openid-configuration`, signal, "discovery");
    for (const name of ["authorization_endpoint", "token_endpoint", "jwks_uri"]) {
      const value = discovery[name];
      if (typeof value !== "string" || !URL.canParse(value)) throw new Error(`discovery has no ${name}`);
    }
    jwksUri = discovery.jwks_uri as string;
  }
  const jwks = await fetchJson(fetchFn, jwksUri, signal, "JWKS");
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error("JWKS has no keys");
}

/** Builds the readiness check behind `GET /readyz`. */
export function createReadiness(options: ReadinessOptions): Readiness {
  const { issuer, domain, timeoutMs = 2000, successTtlMs = 30_000, failureTtlMs = 3000, pingRedis, onResult, now = Date.now } = options;
  const fetchFn = options.fetch ?? fetch;
  let cached: { result: DependencyCheck; until: number } | undefined;
  let running: Promise<DependencyCheck> | undefined;

  async function runCognitoCheck(): Promise<DependencyCheck> {
    const started = performance.now();
    let result: DependencyCheck;
    try {
      await checkCognito(issuer, timeoutMs, fetchFn, domain);
      result = { status: "up" };
    } catch (error) {
      result = { status: "down", error: describeFailure(error, timeoutMs) };
    }
    result.duration_ms = Math.round(performance.now() - started);
    result.checked_at = new Date(now()).toISOString();
    cached = { result, until: now() + (result.status === "up" ? successTtlMs : failureTtlMs) };
    onResult?.("cognito", result.status === "up");
    return result;
  }

  function cognito(): Promise<DependencyCheck> {
    if (cached && now() < cached.until) return Promise.resolve(cached.result);
    running ??= runCognitoCheck().finally(() => (running = undefined));
    return running;
  }

  async function redis(): Promise<DependencyCheck> {
    if (!pingRedis) return { status: "not_configured" };
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        pingRedis(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { name: "TimeoutError" })), REDIS_TIMEOUT_MS);
        }),
      ]);
      onResult?.("redis", true);
      return { status: "up", duration_ms: Math.round(performance.now() - started) };
    } catch (error) {
      onResult?.("redis", false);
      const timedOut = (error as Error)?.name === "TimeoutError" || /timed? ?out/i.test((error as Error)?.message ?? "");
      return { status: "down", error: timedOut ? "no answer to PING" : "unreachable" };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async check() {
      const [cognitoCheck, redisCheck] = await Promise.all([cognito(), redis()]);
      const ready = cognitoCheck.status === "up" && redisCheck.status !== "down";
      return { status: ready ? "ready" : "not_ready", checks: { cognito: cognitoCheck, redis: redisCheck } };
    },
  };
}
