/**
 * Mints RS256 access and ID tokens with Cognito's claims.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
 */
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK, type CryptoKey } from "jose";
import type { Clock } from "./clock.js";
import type { StoredUser } from "./store.js";

export interface SigningKeys {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKeys(): Promise<SigningKeys> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

export interface MintContext {
  issuer: string;
  clientId: string;
  user: StoredUser;
  scopes: string[];
  originJti: string;
  authTime: number;
  nonce?: string;
}

export class TokenMinter {
  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    private readonly accessTtl: number,
    private readonly idTtl: number,
  ) {}

  private sign(claims: Record<string, unknown>, ttl: number): Promise<string> {
    const iat = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ ...claims, iat, exp: iat + ttl, jti: randomUUID() })
      .setProtectedHeader({ alg: "RS256", kid: this.keys.kid })
      .sign(this.keys.privateKey);
  }

  accessToken(ctx: MintContext, eventId: string): Promise<string> {
    return this.sign(
      {
        sub: ctx.user.sub,
        ...(ctx.user.groups?.length ? { "cognito:groups": ctx.user.groups } : {}),
        iss: ctx.issuer,
        client_id: ctx.clientId,
        origin_jti: ctx.originJti,
        event_id: eventId,
        token_use: "access",
        scope: ctx.scopes.join(" "),
        auth_time: ctx.authTime,
        username: ctx.user.username,
      },
      this.accessTtl,
    );
  }

  idToken(ctx: MintContext, eventId: string): Promise<string> {
    return this.sign(
      {
        sub: ctx.user.sub,
        ...(ctx.user.groups?.length ? { "cognito:groups": ctx.user.groups } : {}),
        email_verified: ctx.user.emailVerified ?? false,
        iss: ctx.issuer,
        "cognito:username": ctx.user.username,
        origin_jti: ctx.originJti,
        aud: ctx.clientId,
        event_id: eventId,
        token_use: "id",
        auth_time: ctx.authTime,
        email: ctx.user.email,
        ...(ctx.user.attributes ?? {}),
        ...(ctx.nonce ? { nonce: ctx.nonce } : {}),
      },
      this.idTtl,
    );
  }

  /** A client-credentials access token: the client is the subject; no user, no ID token. */
  clientToken(issuer: string, clientId: string, scopes: string[]): Promise<string> {
    const iat = Math.floor(this.clock.now() / 1000);
    return this.sign(
      { sub: clientId, token_use: "access", scope: scopes.join(" "), auth_time: iat, iss: issuer, version: 2, client_id: clientId },
      this.accessTtl,
    );
  }

  get accessTtlSeconds(): number {
    return this.accessTtl;
  }
}
