/**
 * When an access token stops being valid: its own `exp` claim, or earlier
 * where the answer that carried it says so (`expires_in` / `ExpiresIn`).
 *
 * The token is the authority: an emulator or proxy that always answers
 * `expires_in: 3600` for a 120 s token must not make the BFF hand out expired
 * tokens, and an answer without a lifetime (cognito-local's `InitiateAuth`)
 * must not make a usable token unusable. The token's signature is not checked
 * here: it came from Cognito over TLS, and the upstream checks it.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
 */
import { decodeJwt } from "jose";

/** The `exp` claim of a JWT, or undefined when it is not a JWT or has no numeric `exp`. */
export function expClaim(jwt: string): number | undefined {
  try {
    const { exp } = decodeJwt(jwt);
    return typeof exp === "number" && Number.isFinite(exp) && exp > 0 ? exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Absolute expiry (epoch seconds) of an access token: the earlier of its `exp`
 * and `nowSeconds + expiresInSeconds`, whichever are known.
 * @returns undefined when neither is known (the answer is unusable).
 */
export function accessTokenExpiry(accessToken: string, expiresInSeconds: number | undefined, nowSeconds: number): number | undefined {
  const fromClaim = expClaim(accessToken);
  const fromAnswer =
    typeof expiresInSeconds === "number" && Number.isFinite(expiresInSeconds) && expiresInSeconds > 0
      ? nowSeconds + Math.floor(expiresInSeconds)
      : undefined;
  if (fromClaim === undefined) return fromAnswer;
  return fromAnswer === undefined ? fromClaim : Math.min(fromClaim, fromAnswer);
}
