/**
 * What the session cookie holds besides Auth.js's own claims (`name`, `email`,
 * `picture`, `sub`, `iat`, `exp`, `jti`). Snake case: it is a wire format
 * shared with the Auth.js `jwt` callback.
 */
export interface SessionTokens {
  access_token: string;
  id_token?: string;
  refresh_token: string;
  /** Absolute expiry of the access token, epoch seconds. */
  expires_at: number;
  /** When the access token was obtained, epoch seconds (bounds how often min_ttl can force a refresh). */
  issued_at: number;
  scope?: string;
  /** `cognito:username` (the access token's `username`): the SECRET_HASH input; a UUID in email-as-username pools. */
  cognito_username: string;
  /** The Cognito `sub`; Auth.js's own `sub` is a random UUID without an adapter. */
  cognito_sub: string;
  /** When the user signed in, epoch seconds; kept through refreshes and re-issues (admin revocation compares it). Absent in older cookies. */
  signed_in_at?: number;
}

export type SessionPayload = SessionTokens & Record<string, unknown>;

const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isEpoch = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;

/** Narrows a decrypted payload to a usable session; null when fields are missing or of the wrong type. */
export function toSessionPayload(payload: Record<string, unknown> | null | undefined): SessionPayload | null {
  if (!payload) return null;
  const { access_token, refresh_token, expires_at, issued_at, cognito_username, cognito_sub, id_token, scope, signed_in_at } = payload;
  if (!isString(access_token) || !isString(refresh_token) || !isEpoch(expires_at)) return null;
  if (!isEpoch(issued_at) || !isString(cognito_username) || !isString(cognito_sub)) return null;
  if (id_token !== undefined && !isString(id_token)) return null;
  if (scope !== undefined && typeof scope !== "string") return null;
  if (signed_in_at !== undefined && !isEpoch(signed_in_at)) return null;
  return payload as SessionPayload;
}
