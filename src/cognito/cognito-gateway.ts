/**
 * The Cognito API calls this service makes: refresh (both APIs) and revoke.
 *
 * One bounded retry policy for all of them, owned here rather than by the SDK
 * (whose own retries are off) so that the last failure keeps its meaning: only
 * transient failures (throttling, 5xx, network, timeout) are retried, at most
 * `maxAttempts` attempts with exponential backoff and full jitter, every
 * attempt under the time that remains of one deadline (`timeoutMs`), and no
 * retry is started that could not finish before it.
 */
import {
  CognitoIdentityProviderClient,
  GetTokensFromRefreshTokenCommand,
  GlobalSignOutCommand,
  InitiateAuthCommand,
  RevokeTokenCommand,
  type AuthenticationResultType,
} from "@aws-sdk/client-cognito-identity-provider";
import type { CognitoConfig } from "../config.js";
import { BffError } from "../errors.js";
import { NO_TRACING, type Tracing } from "../tracing.js";
import { failureKindOfCode, isUnrecognizedRejection, RETRY_AFTER_THROTTLED_SECONDS, toBffError } from "./classify-error.js";
import { computeSecretHash } from "./secret-hash.js";

/** What a successful refresh returns. `refreshToken` is set only when Cognito rotated it. */
export interface RefreshedTokens {
  accessToken: string;
  idToken: string | undefined;
  refreshToken: string | undefined;
  /** `ExpiresIn` when Cognito sent it (cognito-local does not); the token's own `exp` is the authority (token-expiry.ts). */
  expiresInSeconds: number | undefined;
  tokenType: string;
}

export interface RefreshRequest {
  refreshToken: string;
  /** The user's Cognito username (`cognito:username`), needed for SECRET_HASH. */
  username: string;
}

export interface CognitoGateway {
  /** @throws {BffError} `session_expired`, `temporarily_unavailable` or `internal_error`. */
  refreshTokens(request: RefreshRequest): Promise<RefreshedTokens>;
  /** Revokes a refresh token and the tokens issued from it. @throws {BffError} */
  revokeToken(refreshToken: string): Promise<void>;
  /**
   * Revokes every refresh token of the user whose access token this is; the token
   * needs the `aws.cognito.signin.user.admin` scope. @throws {BffError}
   * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html
   */
  globalSignOut(accessToken: string): Promise<void>;
  destroy(): void;
}

/** Observes each Cognito call (metrics); never receives a token. */
export type CognitoCallObserver = (operation: string, outcome: "ok" | string, durationMs: number) => void;

export interface CognitoGatewayOptions {
  /** A pre-built SDK client (tests); by default one is built from the config. */
  client?: CognitoIdentityProviderClient;
  observe?: CognitoCallObserver;
  /** With tracing on, every attempt is a CLIENT span (operation, attempt number, outcome). */
  tracing?: Tracing;
}

/** Backoff base per kind of transient failure; throttling backs off longer. */
const BACKOFF_BASE_MS = { throttled: 200, other: 50 } as const;
const BACKOFF_CAP_MS = 2000;
/** Less time than this left before the deadline is not worth another attempt. */
const MIN_ATTEMPT_MS = 100;

export function createCognitoClient(config: CognitoConfig): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: Math.min(config.timeoutMs, 2000), requestTimeout: config.timeoutMs },
  });
}

/** Full-jitter exponential backoff before attempt `attempt + 1`. */
export function backoffMs(attempt: number, throttled: boolean, random: () => number = Math.random): number {
  const base = throttled ? BACKOFF_BASE_MS.throttled : BACKOFF_BASE_MS.other;
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, base * 2 ** (attempt - 1)));
}

/**
 * Checks the fields of Cognito's answer before they are trusted. `ExpiresIn`
 * is optional: the access token's own `exp` says when it expires.
 * @throws {BffError} `temporarily_unavailable` when the answer has no access token.
 */
export function processAuthenticationResult(result: AuthenticationResultType | undefined, operation: string): RefreshedTokens {
  const accessToken = result?.AccessToken;
  const expiresIn = result?.ExpiresIn;
  if (typeof accessToken !== "string" || accessToken.length === 0) {
    throw new BffError("temporarily_unavailable", {
      logDetail: `${operation} answered without AccessToken${result?.RefreshToken ? " (a rotated RefreshToken was dropped)" : ""}`,
      retryAfterSeconds: 2,
    });
  }
  return {
    accessToken,
    idToken: typeof result?.IdToken === "string" && result.IdToken ? result.IdToken : undefined,
    refreshToken: typeof result?.RefreshToken === "string" && result.RefreshToken ? result.RefreshToken : undefined,
    expiresInSeconds: typeof expiresIn === "number" && expiresIn > 0 ? expiresIn : undefined,
    tokenType: result?.TokenType ?? "Bearer",
  };
}

export function createCognitoGateway(config: CognitoConfig, options: CognitoGatewayOptions = {}): CognitoGateway {
  const client = options.client ?? createCognitoClient(config);
  const observe = options.observe ?? (() => {});
  const tracing = options.tracing ?? NO_TRACING;
  const { clientId, clientSecret } = config;
  const serverAddress = new URL(config.endpoint ?? `https://cognito-idp.${config.region}.amazonaws.com`).hostname;

  /**
   * One attempt as a CLIENT span: `bff.cognito.outcome` is `ok`, or the failure's kind (`rejected`, `transient`,
   * `misconfigured`) with the exception's name as `error.type`; never a token or a message.
   * @see https://opentelemetry.io/docs/specs/semconv/cloud-providers/aws-sdk/
   */
  async function traced<T>(operation: string, n: number, work: () => Promise<T>): Promise<T> {
    const span = tracing.startSpan(`CognitoIdentityProvider.${operation}`, "client", {
      "rpc.system": "aws-api",
      "rpc.service": "CognitoIdentityProvider",
      "rpc.method": operation,
      "cloud.region": config.region,
      "server.address": serverAddress,
      "bff.cognito.attempt": n,
    });
    try {
      const result = await tracing.withSpan(span, work);
      span.setAttributes({ "bff.cognito.outcome": "ok" });
      return result;
    } catch (error) {
      const { code, cause } = error as BffError;
      span.setAttributes({ "bff.cognito.outcome": failureKindOfCode(code) });
      const name = (cause as { name?: unknown } | undefined)?.name;
      span.fail(typeof name === "string" ? name.slice(0, 64) : code);
      throw error;
    } finally {
      span.end();
    }
  }

  async function attempt<T>(operation: string, run: (signal: AbortSignal) => Promise<T>, remainingMs: number): Promise<T> {
    const started = performance.now();
    try {
      const result = await run(AbortSignal.timeout(remainingMs));
      observe(operation, "ok", performance.now() - started);
      return result;
    } catch (error) {
      const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
      const outcome = typeof name !== "string" ? "Error" : isUnrecognizedRejection(name, String(message ?? "")) ? `${name}_unrecognized` : name;
      observe(operation, outcome, performance.now() - started);
      throw error instanceof BffError ? error : toBffError(error, operation);
    }
  }

  async function call<T>(operation: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const deadline = performance.now() + config.timeoutMs;
    for (let n = 1; ; n++) {
      try {
        const remainingMs = Math.max(1, Math.ceil(deadline - performance.now()));
        return await (tracing.enabled ? traced(operation, n, () => attempt(operation, run, remainingMs)) : attempt(operation, run, remainingMs));
      } catch (failure) {
        const error = failure as BffError;
        if (error.code !== "temporarily_unavailable" || n >= config.maxAttempts) throw error;
        const wait = backoffMs(n, error.retryAfterSeconds === RETRY_AFTER_THROTTLED_SECONDS);
        // A retry that could not finish before the deadline is not started.
        if (performance.now() + wait + MIN_ATTEMPT_MS >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  return {
    async refreshTokens({ refreshToken, username }) {
      if (config.refreshTokenRotation) {
        // GetTokensFromRefreshToken takes the client secret itself, not a SECRET_HASH.
        const output = await call("GetTokensFromRefreshToken", (abortSignal) =>
          client.send(
            new GetTokensFromRefreshTokenCommand({
              ClientId: clientId,
              RefreshToken: refreshToken,
              ...(clientSecret ? { ClientSecret: clientSecret } : {}),
            }),
            { abortSignal },
          ),
        );
        // Checked after the retry loop: an answer Cognito gave is never retried with the same
        // refresh token (with rotation, that would throw away the new one).
        return processAuthenticationResult(output.AuthenticationResult, "GetTokensFromRefreshToken");
      }
      const output = await call("InitiateAuth", (abortSignal) =>
        client.send(
          new InitiateAuthCommand({
            AuthFlow: "REFRESH_TOKEN_AUTH",
            ClientId: clientId,
            AuthParameters: {
              REFRESH_TOKEN: refreshToken,
              ...(clientSecret ? { SECRET_HASH: computeSecretHash(username, clientId, clientSecret) } : {}),
            },
          }),
          { abortSignal },
        ),
      );
      return processAuthenticationResult(output.AuthenticationResult, "InitiateAuth");
    },

    async revokeToken(refreshToken) {
      await call("RevokeToken", (abortSignal) =>
        client.send(
          new RevokeTokenCommand({ ClientId: clientId, Token: refreshToken, ...(clientSecret ? { ClientSecret: clientSecret } : {}) }),
          { abortSignal },
        ),
      );
    },

    async globalSignOut(accessToken) {
      await call("GlobalSignOut", (abortSignal) => client.send(new GlobalSignOutCommand({ AccessToken: accessToken }), { abortSignal }));
    },

    destroy() {
      client.destroy();
    },
  };
}
