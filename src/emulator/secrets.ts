/** Constant-time comparisons and the hashes Cognito checks: SECRET_HASH and PKCE S256. */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Base64(HMAC-SHA256(key = client secret, message = username + client id)), as
 * Cognito verifies `SECRET_HASH`.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/signing-up-users-in-your-app.html#cognito-user-pools-computing-secret-hash
 */
export function computeSecretHash(username: string, clientId: string, clientSecret: string): string {
  return createHmac("sha256", Buffer.from(clientSecret, "utf8")).update(`${username}${clientId}`, "utf8").digest("base64");
}

/** PKCE S256: BASE64URL(SHA256(ASCII(code_verifier))). @see https://www.rfc-editor.org/rfc/rfc7636#section-4.2 */
export function s256(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
