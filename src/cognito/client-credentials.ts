/**
 * The BFF's own access tokens for service-to-service upstreams: Cognito's
 * token endpoint with `grant_type=client_credentials` and resource-server
 * scopes. One cached token per scope set, reused until shortly before it
 * expires, and at most one request to Cognito per scope set at a time.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
import { request, type Dispatcher } from "undici";
import type { TokenAuthMethod } from "../config.js";
import { BffError } from "../errors.js";
import { NO_TRACING, type TraceSpan, type Tracing } from "../tracing.js";
import { failureKindOfCode } from "./classify-error.js";
import { accessTokenExpiry } from "./token-expiry.js";

export interface ClientCredentialsOptions {
  /** `${COGNITO_DOMAIN}/oauth2/token`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  authMethod: TokenAuthMethod;
  /** Epoch milliseconds. */
  now: () => number;
  /** Deadline of one token request. */
  timeoutMs: number;
  dispatcher?: Dispatcher;
  /** With tracing on, every token request is a CLIENT span (status, outcome). */
  tracing?: Tracing;
}

export interface ClientCredentials {
  /**
   * A valid access token for exactly these scopes.
   * @throws {BffError} `temporarily_unavailable` (Cognito failing or slow) or `internal_error` (a refusal: our configuration).
   */
  accessToken(scopes: readonly string[]): Promise<string>;
}

interface CachedToken {
  accessToken: string;
  /** Epoch ms after which the token is no longer handed out. */
  renewAt: number;
}

interface CachedFailure {
  error: BffError;
  /** Epoch ms until which the failure answers instead of Cognito. */
  until: number;
  /** Failures in a row (the backoff doubles with each). */
  streak: number;
}

/** Renew this long before expiry (capped at half of the token's lifetime). */
const RENEW_MARGIN_SECONDS = 60;
const RETRY_AFTER_SECONDS = 5;
const FAILURE_BACKOFF_MS = { first: 1000, max: 30_000 } as const;

/** How long the `streak`-th failure in a row is remembered. */
export function failureBackoffMs(streak: number): number {
  return Math.min(FAILURE_BACKOFF_MS.max, FAILURE_BACKOFF_MS.first * 2 ** Math.max(0, streak - 1));
}

/** application/x-www-form-urlencoded, as RFC 6749 section 2.3.1 asks for Basic credentials. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}

/** Builds the token request (pure): body and headers for the configured client authentication. */
export function clientCredentialsRequest(
  options: Pick<ClientCredentialsOptions, "clientId" | "clientSecret" | "authMethod">,
  scopes: readonly string[],
): { body: string; headers: Record<string, string> } {
  const form = new URLSearchParams({ grant_type: "client_credentials", scope: scopes.join(" ") });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (options.authMethod === "client_secret_post") {
    form.set("client_id", options.clientId);
    form.set("client_secret", options.clientSecret);
  } else {
    const credentials = `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
  }
  return { body: form.toString(), headers };
}

/**
 * Validates a token endpoint answer (pure): every field is checked before it
 * is trusted.
 * @throws {BffError} `internal_error` for an OAuth refusal, `temporarily_unavailable` for the rest.
 */
export function processClientCredentialsResponse(status: number, body: unknown): { accessToken: string; expiresInSeconds: number } {
  const fields = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (status === 400 || status === 401) {
    const error = typeof fields.error === "string" ? fields.error : "unknown";
    // invalid_client, unauthorized_client, invalid_scope: only a configuration change fixes these.
    throw new BffError("internal_error", { logDetail: `client_credentials refused by Cognito: ${error.replace(/[^\w.-]/g, "").slice(0, 64)}` });
  }
  if (status === 403 || status === 404 || status === 405) {
    // No token endpoint there: a Hosted UI domain that is not this pool's, or a path that is not Cognito's.
    throw new BffError("internal_error", { logDetail: `client_credentials: HTTP ${status} from the token endpoint; check COGNITO_DOMAIN (the pool's Hosted UI domain)` });
  }
  if (status !== 200) {
    throw new BffError("temporarily_unavailable", { logDetail: `client_credentials: Cognito answered ${status}`, retryAfterSeconds: RETRY_AFTER_SECONDS });
  }
  const { access_token: accessToken, expires_in: expiresIn, token_type: tokenType } = fields;
  if (typeof accessToken !== "string" || accessToken === "" || typeof expiresIn !== "number" || !(expiresIn > 0) || typeof tokenType !== "string" || tokenType.toLowerCase() !== "bearer") {
    throw new BffError("temporarily_unavailable", { logDetail: "client_credentials: invalid token response", retryAfterSeconds: RETRY_AFTER_SECONDS });
  }
  return { accessToken, expiresInSeconds: expiresIn };
}

/** Creates the cached, single-flight client-credentials token source. */
export function createClientCredentials(options: ClientCredentialsOptions): ClientCredentials {
  const { tokenUrl, now, timeoutMs, dispatcher, tracing = NO_TRACING } = options;
  const cache = new Map<string, CachedToken>();
  const failures = new Map<string, CachedFailure>();
  const inFlight = new Map<string, Promise<string>>();

  function rememberFailure(key: string, error: unknown): never {
    const bff = error instanceof BffError ? error : new BffError("temporarily_unavailable", { retryAfterSeconds: RETRY_AFTER_SECONDS, cause: error });
    const streak = (failures.get(key)?.streak ?? 0) + 1;
    failures.set(key, { error: bff, until: now() + failureBackoffMs(streak), streak });
    throw bff;
  }

  /** The remembered failure, while its backoff lasts; a 503 says when to try again. */
  function recentFailure(key: string): BffError | undefined {
    const failure = failures.get(key);
    if (!failure || now() >= failure.until) return undefined;
    const { error } = failure;
    if (error.code !== "temporarily_unavailable") return error;
    return new BffError("temporarily_unavailable", {
      logDetail: `${error.logDetail ?? "client_credentials failed"} (remembered)`,
      retryAfterSeconds: Math.max(1, Math.ceil((failure.until - now()) / 1000)),
    });
  }

  /** The token request as a CLIENT span; `bff.cognito.outcome` as for the Cognito API calls. */
  async function tracedFetch(key: string, scopes: readonly string[]): Promise<string> {
    const span = tracing.startSpan("POST /oauth2/token", "client", {
      "http.request.method": "POST",
      "server.address": new URL(tokenUrl).hostname,
      "bff.cognito.operation": "client_credentials",
      "bff.cognito.attempt": 1,
    });
    try {
      const token = await tracing.withSpan(span, () => fetchToken(key, scopes, span));
      span.setAttributes({ "bff.cognito.outcome": "ok" });
      return token;
    } catch (error) {
      const code = error instanceof BffError ? error.code : "internal_error";
      span.setAttributes({ "bff.cognito.outcome": failureKindOfCode(code) });
      span.fail(code);
      throw error;
    } finally {
      span.end();
    }
  }

  async function fetchToken(key: string, scopes: readonly string[], span?: TraceSpan): Promise<string> {
    const { body, headers } = clientCredentialsRequest(options, scopes);
    let status: number;
    let answer: unknown;
    try {
      const response = await request(tokenUrl, {
        method: "POST",
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        ...(dispatcher ? { dispatcher } : {}),
      });
      status = response.statusCode;
      span?.setAttributes({ "http.response.status_code": status });
      answer = await response.body.json().catch(() => undefined);
    } catch (error) {
      throw new BffError("temporarily_unavailable", {
        logDetail: `client_credentials: no answer from Cognito (${(error as { code?: string; name?: string }).code ?? (error as Error).name})`,
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
    const { accessToken, expiresInSeconds } = processClientCredentialsResponse(status, answer);
    failures.delete(key);
    // The token's own exp wins over a larger expires_in (token-expiry.ts).
    const nowSeconds = now() / 1000;
    const lifetime = (accessTokenExpiry(accessToken, expiresInSeconds, nowSeconds) ?? nowSeconds + expiresInSeconds) - nowSeconds;
    const margin = Math.min(RENEW_MARGIN_SECONDS, lifetime / 2);
    cache.set(key, { accessToken, renewAt: now() + (lifetime - margin) * 1000 });
    return accessToken;
  }

  return {
    accessToken(scopes) {
      const sorted = [...new Set(scopes)].sort();
      const key = sorted.join(" ");
      const cached = cache.get(key);
      if (cached && now() < cached.renewAt) return Promise.resolve(cached.accessToken);
      const failed = recentFailure(key);
      if (failed) return Promise.reject(failed);
      let pending = inFlight.get(key);
      if (!pending) {
        pending = (tracing.enabled ? tracedFetch(key, sorted) : fetchToken(key, sorted))
          .catch((error: unknown) => rememberFailure(key, error))
          .finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      return pending;
    },
  };
}
