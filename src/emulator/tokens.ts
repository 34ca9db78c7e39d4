/**
 * Mints RS256 access and ID tokens with Cognito's claims, on the emulator's clock.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
 */
import { createHash, randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import type { Clock } from "./clock.js";
import type { StoredUser } from "./store.js";

/** The private key type of whichever jose major is installed (KeyLike in v5, CryptoKey in v6). */
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

export interface SigningKeys {
  kid: string;
  privateKey: PrivateKey;
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
  /** Epoch seconds of the sign-in; kept across refreshes. */
  authTime: number;
  eventId: string;
  nonce?: string;
}

/** OIDC at_hash: base64url of the left half of SHA-256 of the access token. @see https://openid.net/specs/openid-connect-core-1_0.html#CodeIDToken */
export function atHash(accessToken: string): string {
  return createHash("sha256").update(accessToken, "ascii").digest().subarray(0, 16).toString("base64url");
}

export class TokenMinter {
  constructor(
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    readonly accessTtlSeconds: number,
    private readonly idTtlSeconds: number,
  ) {}

  private sign(claims: Record<string, unknown>, ttl: number): Promise<string> {
    const iat = Math.floor(this.clock.now() / 1000);
    return new SignJWT({ ...claims, exp: iat + ttl, iat, jti: randomUUID() })
      .setProtectedHeader({ kid: this.keys.kid, alg: "RS256" })
      .sign(this.keys.privateKey);
  }

  /** A user's access token: no `aud`, `client_id` and `scope` instead. */
  accessToken(ctx: MintContext): Promise<string> {
    return this.sign(
      {
        sub: ctx.user.sub,
        ...(ctx.user.groups?.length ? { "cognito:groups": ctx.user.groups } : {}),
        iss: ctx.issuer,
        version: 2,
        client_id: ctx.clientId,
        origin_jti: ctx.originJti,
        event_id: ctx.eventId,
        token_use: "access",
        scope: ctx.scopes.join(" "),
        auth_time: ctx.authTime,
        username: ctx.user.username,
      },
      this.accessTtlSeconds,
    );
  }

  /** An ID token; user attributes first so they can never shadow a reserved claim. */
  idToken(ctx: MintContext, accessToken: string): Promise<string> {
    return this.sign(
      {
        ...(ctx.user.attributes ?? {}),
        at_hash: atHash(accessToken),
        sub: ctx.user.sub,
        ...(ctx.user.groups?.length ? { "cognito:groups": ctx.user.groups } : {}),
        email_verified: ctx.user.emailVerified ?? false,
        iss: ctx.issuer,
        "cognito:username": ctx.user.username,
        // A JSON array in the ID token (a JSON string only as a user attribute: userInfo, Lambda triggers).
        ...(ctx.user.identities?.length ? { identities: ctx.user.identities } : {}),
        origin_jti: ctx.originJti,
        aud: ctx.clientId,
        event_id: ctx.eventId,
        token_use: "id",
        auth_time: ctx.authTime,
        email: ctx.user.email,
        ...(ctx.nonce ? { nonce: ctx.nonce } : {}),
      },
      this.idTtlSeconds,
    );
  }

  /** A client-credentials access token: the app client is the subject; no user, no ID token. */
  clientToken(issuer: string, clientId: string, scopes: string[]): Promise<string> {
    const now = Math.floor(this.clock.now() / 1000);
    return this.sign(
      { sub: clientId, token_use: "access", scope: scopes.join(" "), auth_time: now, iss: issuer, version: 2, client_id: clientId },
      this.accessTtlSeconds,
    );
  }
}
