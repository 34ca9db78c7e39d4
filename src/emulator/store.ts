/**
 * The emulator's state: users, app clients, authorization codes and refresh
 * tokens with their rotation and revocation state.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { Clock } from "./clock.js";
import type { EmulatorClient, EmulatorUser } from "./index.js";

/**
 * One entry of a federated user's `identities` attribute and ID token claim,
 * with Cognito's types: `primary` and `dateCreated` (epoch ms) are strings, `issuer` null for social providers.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
 */
export interface FederatedIdentity {
  userId: string;
  providerName: string;
  providerType: string;
  issuer: string | null;
  primary: "true" | "false";
  dateCreated: string;
}

export interface StoredUser extends EmulatorUser {
  sub: string;
  enabled: boolean;
}

export interface AuthCode {
  clientId: string;
  username: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge: string | undefined;
  nonce: string | undefined;
  authTime: number;
  expiresAt: number;
}

export interface RefreshRecord {
  clientId: string;
  username: string;
  scopes: string[];
  originJti: string;
  authTime: number;
  expiresAt: number;
  revoked: boolean;
  /** Set once rotated: the successor and the end of the grace period (ms). */
  rotatedTo?: string;
  graceUntil?: number;
}

/** The scopes an app client allows when none are configured. */
export const DEFAULT_SCOPES: readonly string[] = ["openid", "email", "profile", "aws.cognito.signin.user.admin"];

export type RefreshState = "active" | "grace" | "rotated" | "revoked" | "expired" | "unknown";

const b64 = (bytes: number) => randomBytes(bytes).toString("base64url");

/** An opaque token shaped like Cognito's refresh tokens (a five-part JWE of about 1.7 KB). */
export function opaqueRefreshToken(): string {
  const header = Buffer.from(JSON.stringify({ cty: "JWT", enc: "A256GCM", alg: "RSA-OAEP" })).toString("base64url");
  return [header, b64(256), b64(12), b64(990), b64(16)].join(".");
}

export class Store {
  readonly users = new Map<string, StoredUser>();
  readonly clients = new Map<string, EmulatorClient>();
  readonly codes = new Map<string, AuthCode>();
  readonly refreshTokens = new Map<string, RefreshRecord>();
  /** origin_jti values whose tokens were revoked. */
  readonly revokedOrigins = new Set<string>();

  constructor(private readonly clock: Clock) {}

  addUser(user: EmulatorUser): void {
    this.users.set(user.username, { ...user, sub: user.sub ?? user.username, enabled: true });
  }

  /** Adds a client, or replaces the one with the same id. */
  addClient(client: EmulatorClient): void {
    const grace = client.rotation?.gracePeriodSeconds;
    if (grace !== undefined && !(Number.isInteger(grace) && grace >= 0 && grace <= 60)) {
      throw new RangeError(`rotation.gracePeriodSeconds must be an integer from 0 to 60 (Cognito's RetryGracePeriodSeconds), got ${grace}`);
    }
    this.clients.set(client.clientId, client);
  }

  /** The client's `SupportedIdentityProviders`; the pool's own users (COGNITO) when none are configured. */
  supportedIdentityProviders(client: EmulatorClient): readonly string[] {
    return client.supportedIdentityProviders ?? ["COGNITO"];
  }

  /** The OAuth scopes a client may request at /oauth2/authorize. */
  allowedScopes(client: EmulatorClient): readonly string[] {
    return client.scopes ?? DEFAULT_SCOPES;
  }

  /**
   * By username or by email, both case-insensitive, as the Hosted UI signs in
   * (user pools are case-insensitive unless created otherwise). Federated
   * users have no password and are never found here.
   */
  findUser(login: string): StoredUser | undefined {
    const direct = this.users.get(login);
    if (direct && !direct.identities) return direct;
    const wanted = login.toLowerCase();
    return [...this.users.values()].find((u) => !u.identities && (u.username.toLowerCase() === wanted || u.email.toLowerCase() === wanted));
  }

  issueCode(code: Omit<AuthCode, "expiresAt">, ttlSeconds: number): string {
    const value = randomUUID();
    this.codes.set(value, { ...code, expiresAt: this.clock.now() + ttlSeconds * 1000 });
    return value;
  }

  /** Single use: the code is gone after the first attempt, whatever its outcome. */
  takeCode(value: string): AuthCode | undefined {
    const code = this.codes.get(value);
    this.codes.delete(value);
    if (!code || code.expiresAt <= this.clock.now()) return undefined;
    return code;
  }

  issueRefreshToken(record: Omit<RefreshRecord, "revoked" | "expiresAt">, ttlSeconds: number): string {
    const token = opaqueRefreshToken();
    this.refreshTokens.set(token, { ...record, revoked: false, expiresAt: this.clock.now() + ttlSeconds * 1000 });
    return token;
  }

  refreshState(token: string): RefreshState {
    const record = this.refreshTokens.get(token);
    if (!record) return "unknown";
    if (record.revoked || this.revokedOrigins.has(record.originJti)) return "revoked";
    if (record.expiresAt <= this.clock.now()) return "expired";
    if (record.rotatedTo) return (record.graceUntil ?? 0) > this.clock.now() ? "grace" : "rotated";
    return "active";
  }

  /** Like GlobalSignOut: every refresh token of the user, and what was issued from them, is revoked. */
  revokeUser(username: string): void {
    for (const [token, record] of this.refreshTokens) if (record.username === username) this.revoke(token);
  }

  revoke(token: string): void {
    const record = this.refreshTokens.get(token);
    if (!record) return;
    record.revoked = true;
    this.revokedOrigins.add(record.originJti);
  }
}
