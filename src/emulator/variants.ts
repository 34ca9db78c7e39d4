/**
 * Where Cognito, or an emulator people develop against, answers one case in
 * more than one way, the emulator can give each answer, so that the BFF is
 * tested against all of them. Defaults are what Cognito itself does most often.
 */
export interface Variants {
  /**
   * `InitiateAuth` / `GetTokensFromRefreshToken` carry `ExpiresIn` (Cognito),
   * or not (cognito-local 5.x). Default true.
   */
  apiExpiresIn: boolean;
  /**
   * `/oauth2/token` answers this `expires_in` whatever the token's real
   * lifetime (cognito-local 5.x always says 3600). Default: the real lifetime.
   */
  tokenEndpointExpiresIn: number | undefined;
  /**
   * The `NotAuthorizedException` message for a wrong SECRET_HASH or client secret:
   * "Unable to verify secret hash for client <id>" or
   * "SecretHash does not match for the client: <id>"; Cognito uses both.
   */
  secretHashWording: "unable-to-verify" | "does-not-match";
  /** ID tokens carry the authorize request's `nonce` (Cognito), or none (cognito-local 5.x). Default true. */
  idTokenNonce: boolean;
  /**
   * The provider prefix of a federated user's username: `google_<sub>`
   * (`lower`, what user pools with case-insensitive usernames, the default
   * since 2020, create: AWS confirmed it in aws-amplify/amplify-js#13844) or
   * `Google_<sub>` (`provider`, the provider name as written, as case-sensitive
   * pools and the AWS docs' examples show it). Default `lower`.
   */
  federatedUsernameCase: "lower" | "provider";
}

export const DEFAULT_VARIANTS: Readonly<Variants> = Object.freeze({
  apiExpiresIn: true,
  tokenEndpointExpiresIn: undefined,
  secretHashWording: "unable-to-verify",
  idTokenNonce: true,
  federatedUsernameCase: "lower",
});

/** Cognito's message for a secret that does not verify, in the chosen wording. */
export function secretMismatchMessage(variants: Variants, clientId: string): string {
  return variants.secretHashWording === "does-not-match"
    ? `SecretHash does not match for the client: ${clientId}`
    : `Unable to verify secret hash for client ${clientId}`;
}
