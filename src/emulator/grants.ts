/**
 * What Cognito issues for a code or a refresh token, shared by the OAuth
 * endpoints and the JSON API, with rotation (grace period, reuse detection)
 * and revocation.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-refresh-token.html
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "./clock.js";
import type { EmulatorClient } from "./index.js";
import type { AuthCode, Store, StoredUser } from "./store.js";
import type { TokenMinter } from "./tokens.js";

export interface IssuedTokens {
  accessToken: string;
  idToken: string | undefined;
  refreshToken: string | undefined;
  expiresIn: number;
}

/** A refusal in Cognito's JSON API vocabulary; the OAuth endpoints map it to `invalid_grant`. */
export class GrantError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Cognito's default when RetryGracePeriodSeconds is not set. */
const DEFAULT_GRACE_SECONDS = 60;

export class Grants {
  constructor(
    private readonly store: Store,
    private readonly minter: TokenMinter,
    private readonly clock: Clock,
    private readonly issuer: string,
    private readonly refreshTtlSeconds: number,
  ) {}

  private async mint(client: EmulatorClient, user: StoredUser, scopes: string[], originJti: string, authTime: number, nonce?: string) {
    const ctx = { issuer: this.issuer, clientId: client.clientId, user, scopes, originJti, authTime, eventId: randomUUID(), ...(nonce ? { nonce } : {}) };
    const accessToken = await this.minter.accessToken(ctx);
    // An ID token only when the openid scope was granted, as at Cognito's token endpoint.
    const idToken = scopes.includes("openid") ? await this.minter.idToken(ctx, accessToken) : undefined;
    return { accessToken, idToken };
  }

  /** The authorization-code grant: a new token family (`origin_jti`) with a refresh token. */
  async forCode(code: AuthCode, client: EmulatorClient): Promise<IssuedTokens> {
    const user = this.store.users.get(code.username);
    if (!user) throw new GrantError("UserNotFoundException", "User does not exist.");
    if (!user.enabled) throw new GrantError("NotAuthorizedException", "User is disabled.");
    const originJti = randomUUID();
    const { accessToken, idToken } = await this.mint(client, user, code.scopes, originJti, code.authTime, code.nonce);
    const refreshToken = this.store.issueRefreshToken(
      { clientId: client.clientId, username: user.username, scopes: code.scopes, originJti, authTime: code.authTime },
      this.refreshTtlSeconds,
    );
    return { accessToken, idToken, refreshToken, expiresIn: this.minter.accessTtlSeconds };
  }

  /** Why a refresh token cannot be used (Cognito's code and message), or undefined when it can. */
  refusal(token: string, client: EmulatorClient): GrantError | undefined {
    const record = this.store.refreshTokens.get(token);
    const state = this.store.refreshState(token);
    if (!record || record.clientId !== client.clientId || state === "unknown") return new GrantError("NotAuthorizedException", "Invalid Refresh Token.");
    if (state === "revoked") return new GrantError("NotAuthorizedException", "Refresh Token has been revoked");
    if (state === "expired") return new GrantError("NotAuthorizedException", "Refresh Token has expired");
    if (state === "rotated") return new GrantError("RefreshTokenReuseException", "Refresh token has already been used.");
    const user = this.store.users.get(record.username);
    if (!user) return new GrantError("UserNotFoundException", "User does not exist.");
    if (!user.enabled) return new GrantError("NotAuthorizedException", "User is disabled.");
    return undefined;
  }

  /**
   * Refresh: new access and ID tokens with the same `origin_jti` and
   * `auth_time`. With `rotate` (GetTokensFromRefreshToken or the token
   * endpoint on a rotating client) a new refresh token is issued and the old
   * one stays valid for the grace period, answering with the same successor;
   * after it, reuse is RefreshTokenReuseException.
   */
  async refresh(token: string, client: EmulatorClient, rotate: boolean): Promise<IssuedTokens> {
    const refused = this.refusal(token, client);
    if (refused) throw refused;
    const record = this.store.refreshTokens.get(token)!;
    const user = this.store.users.get(record.username)!;
    const { accessToken, idToken } = await this.mint(client, user, record.scopes, record.originJti, record.authTime);
    let refreshToken: string | undefined;
    if (rotate) {
      refreshToken = record.rotatedTo;
      if (!refreshToken) {
        refreshToken = this.store.issueRefreshToken(
          { clientId: record.clientId, username: record.username, scopes: record.scopes, originJti: record.originJti, authTime: record.authTime },
          this.refreshTtlSeconds,
        );
        record.rotatedTo = refreshToken;
        record.graceUntil = this.clock.now() + (client.rotation?.gracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;
      }
    }
    return { accessToken, idToken, refreshToken, expiresIn: this.minter.accessTtlSeconds };
  }
}
