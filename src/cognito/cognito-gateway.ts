/**
 * The Cognito API calls this service makes: refresh (both APIs) and revoke.
 *
 * One bounded retry policy for all of them: the SDK's standard retry mode
 * (exponential backoff with jitter, retrying throttling, 5xx and network
 * errors) with `maxAttempts` attempts, each attempt under a connection and
 * request timeout, and the whole call under one deadline (`timeoutMs`) that
 * aborts whatever is still running. Nothing waits longer than the deadline.
 */
import {
  CognitoIdentityProviderClient,
  GetTokensFromRefreshTokenCommand,
  InitiateAuthCommand,
  RevokeTokenCommand,
  type AuthenticationResultType,
} from "@aws-sdk/client-cognito-identity-provider";
import type { CognitoConfig } from "../config.js";
import { BffError } from "../errors.js";
import { toBffError } from "./classify-error.js";
import { computeSecretHash } from "./secret-hash.js";

/** What a successful refresh returns. `refreshToken` is set only when Cognito rotated it. */
export interface RefreshedTokens {
  accessToken: string;
  idToken: string | undefined;
  refreshToken: string | undefined;
  expiresInSeconds: number;
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
  destroy(): void;
}

/** Observes each Cognito call (metrics); never receives a token. */
export type CognitoCallObserver = (operation: string, outcome: "ok" | string, durationMs: number) => void;

export interface CognitoGatewayOptions {
  /** A pre-built SDK client (tests); by default one is built from the config. */
  client?: CognitoIdentityProviderClient;
  observe?: CognitoCallObserver;
}

export function createCognitoClient(config: CognitoConfig): CognitoIdentityProviderClient {
  const perAttemptMs = Math.max(100, Math.floor(config.timeoutMs / config.maxAttempts));
  return new CognitoIdentityProviderClient({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    maxAttempts: config.maxAttempts,
    retryMode: "standard",
    requestHandler: { connectionTimeout: Math.min(perAttemptMs, 2000), requestTimeout: perAttemptMs },
  });
}

/**
 * Checks the fields of Cognito's answer before they are trusted.
 * @throws {BffError} `temporarily_unavailable` when the answer is unusable.
 */
export function processAuthenticationResult(result: AuthenticationResultType | undefined, operation: string): RefreshedTokens {
  const accessToken = result?.AccessToken;
  const expiresIn = result?.ExpiresIn;
  if (typeof accessToken !== "string" || accessToken.length === 0 || typeof expiresIn !== "number" || !(expiresIn > 0)) {
    throw new BffError("temporarily_unavailable", {
      logDetail: `${operation} answered without AccessToken/ExpiresIn`,
      retryAfterSeconds: 2,
    });
  }
  return {
    accessToken,
    idToken: typeof result?.IdToken === "string" ? result.IdToken : undefined,
    refreshToken: typeof result?.RefreshToken === "string" && result.RefreshToken ? result.RefreshToken : undefined,
    expiresInSeconds: expiresIn,
    tokenType: result?.TokenType ?? "Bearer",
  };
}

export function createCognitoGateway(config: CognitoConfig, options: CognitoGatewayOptions = {}): CognitoGateway {
  const client = options.client ?? createCognitoClient(config);
  const observe = options.observe ?? (() => {});
  const { clientId, clientSecret } = config;

  async function call<T>(operation: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await run(AbortSignal.timeout(config.timeoutMs));
      observe(operation, "ok", performance.now() - started);
      return result;
    } catch (error) {
      const failure = error instanceof BffError ? error : toBffError(error, operation);
      const name = (error as { name?: unknown } | null)?.name;
      observe(operation, typeof name === "string" ? name : "Error", performance.now() - started);
      throw failure;
    }
  }

  return {
    async refreshTokens({ refreshToken, username }) {
      if (config.refreshTokenRotation) {
        // GetTokensFromRefreshToken takes the client secret itself, not a SECRET_HASH.
        return call("GetTokensFromRefreshToken", async (abortSignal) => {
          const output = await client.send(
            new GetTokensFromRefreshTokenCommand({
              ClientId: clientId,
              RefreshToken: refreshToken,
              ...(clientSecret ? { ClientSecret: clientSecret } : {}),
            }),
            { abortSignal },
          );
          return processAuthenticationResult(output.AuthenticationResult, "GetTokensFromRefreshToken");
        });
      }
      return call("InitiateAuth", async (abortSignal) => {
        const output = await client.send(
          new InitiateAuthCommand({
            AuthFlow: "REFRESH_TOKEN_AUTH",
            ClientId: clientId,
            AuthParameters: {
              REFRESH_TOKEN: refreshToken,
              ...(clientSecret ? { SECRET_HASH: computeSecretHash(username, clientId, clientSecret) } : {}),
            },
          }),
          { abortSignal },
        );
        return processAuthenticationResult(output.AuthenticationResult, "InitiateAuth");
      });
    },

    async revokeToken(refreshToken) {
      await call("RevokeToken", (abortSignal) =>
        client.send(
          new RevokeTokenCommand({ ClientId: clientId, Token: refreshToken, ...(clientSecret ? { ClientSecret: clientSecret } : {}) }),
          { abortSignal },
        ),
      );
    },

    destroy() {
      client.destroy();
    },
  };
}
