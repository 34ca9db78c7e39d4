/**
 * An upstream's group rule (`groups` in `UPSTREAMS`): the user's access token
 * must name at least one of the upstream's groups in `cognito:groups`.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html (the `cognito:groups` claim)
 */
import { decodeJwt } from "jose";
import { BffError } from "../errors.js";

/**
 * The `cognito:groups` of an access token; none when the claim is missing or not a list of strings.
 * Decoded without verifying the signature: the token is the one the BFF got
 * from Cognito over TLS and is about to send, never one a client handed in.
 */
export function tokenGroups(accessToken: string): readonly string[] {
  let claim: unknown;
  try {
    claim = decodeJwt(accessToken)["cognito:groups"];
  } catch {
    return [];
  }
  return Array.isArray(claim) ? claim.filter((g): g is string => typeof g === "string") : [];
}

/**
 * Passes when `required` is undefined (no rule) or the token is in one of its groups.
 * @throws {BffError} `insufficient_group` otherwise (the log line names the upstream, never a group of the user).
 */
export function checkGroupRule(accessToken: string, required: readonly string[] | undefined, upstreamName: string): void {
  if (required === undefined) return;
  const held = tokenGroups(accessToken);
  if (required.some((group) => held.includes(group))) return;
  throw new BffError("insufficient_group", { logDetail: `upstream ${upstreamName}: the access token is in none of its groups` });
}
