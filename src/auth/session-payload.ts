/**
 * What the session cookie holds besides Auth.js's own claims (`name`, `email`,
 * `picture`, `sub`, `iat`, `exp`, `jti`). Snake case: it is a wire format
 * shared with the Auth.js `jwt` callback.
 */
import { randomBytes } from "node:crypto";

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
  /**
   * This session's id (128 random bits, base64url): sign-out revokes it, so every
   * copy of the cookie ends with it. Given at sign-in, or at the next re-issue of
   * an older cookie that has none.
   */
  sid?: string;
}

export type SessionPayload = SessionTokens & Record<string, unknown>;

/** A new session id: 128 random bits, 22 base64url characters. */
export function newSessionId(): string {
  return randomBytes(16).toString("base64url");
}

/** The session with an id: its own, or a new one for a cookie from before session ids. */
export function withSessionId<T extends SessionTokens>(session: T): T {
  return session.sid ? session : { ...session, sid: newSessionId() };
}

const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isEpoch = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v > 0;

/** Narrows a decrypted payload to a usable session; null when fields are missing or of the wrong type. */
export function toSessionPayload(payload: Record<string, unknown> | null | undefined): SessionPayload | null {
  if (!payload) return null;
  const { access_token, refresh_token, expires_at, issued_at, cognito_username, cognito_sub, id_token, scope, signed_in_at, sid } = payload;
  if (!isString(access_token) || !isString(refresh_token) || !isEpoch(expires_at)) return null;
  if (!isEpoch(issued_at) || !isString(cognito_username) || !isString(cognito_sub)) return null;
  if (id_token !== undefined && !isString(id_token)) return null;
  if (scope !== undefined && typeof scope !== "string") return null;
  if (signed_in_at !== undefined && !isEpoch(signed_in_at)) return null;
  if (sid !== undefined && !isString(sid)) return null;
  return payload as SessionPayload;
}
