import { createHmac } from "node:crypto";

/**
 * `SECRET_HASH` for an app client with a secret: Base64(HMAC-SHA256(clientSecret, username + clientId)).
 *
 * For refresh, `username` is the user's Cognito username (`cognito:username`,
 * the access token's `username` claim), which is a UUID in pools where email is
 * the sign-in name — not the email.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/signing-up-users-in-your-app.html#cognito-user-pools-computing-secret-hash
 */
export function computeSecretHash(username: string, clientId: string, clientSecret: string): string {
  return createHmac("sha256", clientSecret).update(username + clientId).digest("base64");
}
