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

/** A refusal in Cognito's JSON API vocabulary. */
export class GrantError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class Grants {
  constructor(
    private readonly store: Store,
    private readonly minter: TokenMinter,
    private readonly clock: Clock,
    private readonly issuer: string,
    private readonly refreshTtlSeconds: number,
  ) {}

  private async mint(client: EmulatorClient, user: StoredUser, scopes: string[], originJti: string, authTime: number, nonce?: string) {
    const eventId = randomUUID();
    const ctx = { issuer: this.issuer, clientId: client.clientId, user, scopes, originJti, authTime, ...(nonce ? { nonce } : {}) };
    return {
      accessToken: await this.minter.accessToken(ctx, eventId),
      idToken: scopes.includes("openid") ? await this.minter.idToken(ctx, eventId) : undefined,
    };
  }

  async forCode(code: AuthCode, client: EmulatorClient): Promise<IssuedTokens> {
    const user = this.store.users.get(code.username);
    if (!user || !user.enabled) throw new GrantError("NotAuthorizedException", "User is disabled.");
    const originJti = randomUUID();
    const { accessToken, idToken } = await this.mint(client, user, code.scopes, originJti, code.authTime, code.nonce);
    const refreshToken = this.store.issueRefreshToken(
      { clientId: client.clientId, username: user.username, scopes: code.scopes, originJti, authTime: code.authTime },
      this.refreshTtlSeconds,
    );
    return { accessToken, idToken, refreshToken, expiresIn: this.minter.accessTtlSeconds };
  }

  /**
   * Refresh. With `rotate` (GetTokensFromRefreshToken or the token endpoint on a
   * rotating client) a new refresh token is issued and the old one stays valid
   * for the grace period, answering with the same successor; after it, reuse is
   * RefreshTokenReuseException.
   */
  async refresh(token: string, client: EmulatorClient, rotate: boolean): Promise<IssuedTokens> {
    const record = this.store.refreshTokens.get(token);
    const state = this.store.refreshState(token);
    if (!record || record.clientId !== client.clientId || state === "unknown" || state === "expired") {
      throw new GrantError("NotAuthorizedException", "Invalid Refresh Token");
    }
    if (state === "revoked") throw new GrantError("NotAuthorizedException", "Refresh Token has been revoked");
    if (state === "rotated") throw new GrantError("RefreshTokenReuseException", "Refresh token has already been used.");
    const user = this.store.users.get(record.username);
    if (!user) throw new GrantError("UserNotFoundException", "User does not exist.");
    if (!user.enabled) throw new GrantError("NotAuthorizedException", "User is disabled.");

    const { accessToken, idToken } = await this.mint(client, user, record.scopes, record.originJti, record.authTime);
    let refreshToken: string | undefined;
    if (rotate) {
      if (state === "grace") refreshToken = record.rotatedTo;
      else {
        refreshToken = this.store.issueRefreshToken(
          { clientId: record.clientId, username: record.username, scopes: record.scopes, originJti: record.originJti, authTime: record.authTime },
          this.refreshTtlSeconds,
        );
        record.rotatedTo = refreshToken;
        record.graceUntil = this.clock.now() + (client.rotation?.gracePeriodSeconds ?? 60) * 1000;
      }
    }
    return { accessToken, idToken, refreshToken, expiresIn: this.minter.accessTtlSeconds };
  }
}
