/**
 * What `/auth/session` tells about the user besides who they are: their
 * Cognito groups and the identity provider they signed in with. Read from the
 * session's own tokens (never exposed), so they follow every refresh.
 */
import { decodeJwt } from "jose";

/** The pool's own users, as the Hosted UI's `identity_provider` names them. */
export const POOL_PROVIDER = "COGNITO";

function claimsOf(token: string | undefined): Record<string, unknown> | undefined {
  if (!token) return undefined;
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * The access token's `cognito:groups` (a federated user is in `<poolId>_<provider>`);
 * `[]` when it has none.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html
 */
export function groupsOf(accessToken: string): string[] {
  const groups = claimsOf(accessToken)?.["cognito:groups"];
  return Array.isArray(groups) ? groups.filter((g): g is string => typeof g === "string") : [];
}

interface Identity {
  providerName?: unknown;
  primary?: unknown;
}

/**
 * The provider of the ID token's `identities` claim (a JSON array; also read
 * as the JSON string the user attribute is, which a pre token generation
 * trigger may copy into the token): the primary identity's `providerName`, or
 * the first one's. `COGNITO` for a pool user (no `identities`); undefined
 * without an ID token.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html
 */
export function identityProviderOf(idToken: string | undefined): string | undefined {
  const claims = claimsOf(idToken);
  if (!claims) return undefined;
  let identities = claims.identities;
  if (typeof identities === "string") {
    try {
      identities = JSON.parse(identities) as unknown;
    } catch {
      identities = undefined;
    }
  }
  if (!Array.isArray(identities) || identities.length === 0) return POOL_PROVIDER;
  const list = identities as Identity[];
  const primary = list.find((i) => i?.primary === "true" || i?.primary === true) ?? list[0];
  return typeof primary?.providerName === "string" && primary.providerName !== "" ? primary.providerName : POOL_PROVIDER;
}
