/**
 * The Cognito user pools JSON API (`POST /` with `X-Amz-Target`), the
 * operations a BFF uses: InitiateAuth (REFRESH_TOKEN_AUTH),
 * GetTokensFromRefreshToken and RevokeToken. These are unauthenticated
 * operations: no SigV4 signature is needed or checked.
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RevokeToken.html
 */
import express, { Router, type Response } from "express";
import { API_OPERATIONS, type Faults, type Operation } from "./faults.js";
import { GrantError, type Grants, type IssuedTokens } from "./grants.js";
import type { EmulatorClient } from "./index.js";
import { AMZ_JSON, writeAwsError } from "./responses.js";
import { computeSecretHash, safeEqual } from "./secrets.js";
import type { Store } from "./store.js";
import { secretMismatchMessage, type Variants } from "./variants.js";

const TARGET_PREFIX = "AWSCognitoIdentityProviderService.";

type Body = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);

function required(body: Body, name: string): string {
  const value = str(body[name]);
  if (!value) {
    const member = name.charAt(0).toLowerCase() + name.slice(1);
    throw new GrantError("InvalidParameterException", `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function authenticationResult(tokens: IssuedTokens, variants: Variants): Record<string, unknown> {
  return {
    AccessToken: tokens.accessToken,
    ...(variants.apiExpiresIn ? { ExpiresIn: tokens.expiresIn } : {}),
    ...(tokens.idToken ? { IdToken: tokens.idToken } : {}),
    ...(tokens.refreshToken ? { RefreshToken: tokens.refreshToken } : {}),
    TokenType: "Bearer",
  };
}

/** Cognito's messages for a client with a secret that sent none, or a wrong one. */
function checkClientSecret(client: EmulatorClient, given: string | undefined, verify: (secret: string) => boolean, variants: Variants): void {
  if (client.clientSecret === undefined) return;
  if (given === undefined) throw new GrantError("NotAuthorizedException", `Client ${client.clientId} is configured for secret but secret was not received`);
  if (!verify(client.clientSecret)) throw new GrantError("NotAuthorizedException", secretMismatchMessage(variants, client.clientId));
}

function parseBody(text: unknown): Body {
  try {
    const parsed: unknown = JSON.parse(typeof text === "string" && text !== "" ? text : "{}");
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Body;
  } catch {
    // fall through
  }
  throw new GrantError("SerializationException", "Start of structure or map found where not expected.");
}

/** Verifies an access token of this pool (signature, issuer, expiry); rejects otherwise. */
export type VerifyAccessToken = (token: string) => Promise<Record<string, unknown>>;

/** The scope a Hosted UI access token needs for the user-pool API operations that take it (GlobalSignOut). */
const ADMIN_SCOPE = "aws.cognito.signin.user.admin";

export function idpApi(store: Store, grants: Grants, faults: Faults, variants: Variants, verifyAccessToken: VerifyAccessToken): Router {
  const router = Router();

  async function initiateAuth(body: Body, client: EmulatorClient): Promise<Body> {
    const flow = required(body, "AuthFlow");
    if (flow !== "REFRESH_TOKEN_AUTH" && flow !== "REFRESH_TOKEN") {
      throw new GrantError("InvalidParameterException", `The emulator supports only REFRESH_TOKEN_AUTH, not ${flow}`);
    }
    // Rotation needs ALLOW_REFRESH_TOKEN_AUTH off; Cognito answers a disabled flow with InvalidParameterException.
    if (client.rotation?.enabled) throw new GrantError("InvalidParameterException", "REFRESH_TOKEN_AUTH flow not enabled for this client");
    const params = (body.AuthParameters ?? {}) as Body;
    const refreshToken = str(params.REFRESH_TOKEN);
    if (!refreshToken) throw new GrantError("InvalidParameterException", "Missing required parameter REFRESH_TOKEN");
    const record = store.refreshTokens.get(refreshToken);
    if (!record || record.clientId !== client.clientId) throw new GrantError("NotAuthorizedException", "Invalid Refresh Token.");
    const given = str(params.SECRET_HASH);
    // SECRET_HASH is keyed on the user's Cognito username (cognito:username), never the email.
    checkClientSecret(client, given, (secret) => safeEqual(given!, computeSecretHash(record.username, client.clientId, secret)), variants);
    return { AuthenticationResult: authenticationResult(await grants.refresh(refreshToken, client, false), variants), ChallengeParameters: {} };
  }

  async function getTokensFromRefreshToken(body: Body, client: EmulatorClient): Promise<Body> {
    const refreshToken = required(body, "RefreshToken");
    const given = str(body.ClientSecret);
    checkClientSecret(client, given, (secret) => safeEqual(given!, secret), variants);
    return { AuthenticationResult: authenticationResult(await grants.refresh(refreshToken, client, client.rotation?.enabled === true), variants) };
  }

  function revokeToken(body: Body, client: EmulatorClient): Body {
    const token = required(body, "Token");
    const given = str(body.ClientSecret);
    checkClientSecret(client, given, (secret) => safeEqual(given!, secret), variants);
    // The exact message is not documented; the exception is (API_RevokeToken: "isn't enabled for the user pool client").
    if (client.tokenRevocation === false) throw new GrantError("UnsupportedOperationException", "Token revocation is not enabled for this app client.");
    if (token.split(".").length === 3) throw new GrantError("UnsupportedTokenTypeException", "Only refresh tokens can be revoked.");
    const record = store.refreshTokens.get(token);
    if (record && record.clientId !== client.clientId) throw new GrantError("UnauthorizedException", "The token was not issued to this client.");
    store.revoke(token);
    return {};
  }

  /**
   * GlobalSignOut: authorized by the user's access token alone (no ClientId), which
   * needs the aws.cognito.signin.user.admin scope; revokes every refresh token of the user.
   * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html
   */
  async function globalSignOut(body: Body): Promise<Body> {
    const token = required(body, "AccessToken");
    const claims = await verifyAccessToken(token).catch((error: unknown) => {
      throw new GrantError("NotAuthorizedException", (error as { code?: string }).code === "ERR_JWT_EXPIRED" ? "Access Token has expired" : "Invalid Access Token");
    });
    const username = typeof claims.username === "string" ? claims.username : "";
    if (claims.token_use !== "access" || !store.users.has(username)) throw new GrantError("NotAuthorizedException", "Invalid Access Token");
    if (store.revokedOrigins.has(String(claims.origin_jti))) throw new GrantError("NotAuthorizedException", "Access Token has been revoked");
    if (!String(claims.scope ?? "").split(" ").includes(ADMIN_SCOPE)) throw new GrantError("NotAuthorizedException", "Access Token does not have required scopes");
    store.revokeUser(username);
    return {};
  }

  router.post("/", express.text({ type: () => true, limit: "1mb" }), async (req, res: Response) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
    if (!API_OPERATIONS.includes(operation as Operation)) {
      return writeAwsError(res, "UnknownOperationException", 400, `Unknown operation ${operation || target}`);
    }
    if (await faults.apply(operation as Operation, req, res)) return;
    try {
      const body = parseBody(req.body);
      if (operation === "GlobalSignOut") return void res.type(AMZ_JSON).send(JSON.stringify(await globalSignOut(body)));
      const clientId = required(body, "ClientId");
      const client = store.clients.get(clientId);
      if (!client) throw new GrantError("ResourceNotFoundException", `User pool client ${clientId} does not exist.`);
      let answer: Body;
      if (operation === "InitiateAuth") answer = await initiateAuth(body, client);
      else if (operation === "GetTokensFromRefreshToken") answer = await getTokensFromRefreshToken(body, client);
      else answer = revokeToken(body, client);
      res.type(AMZ_JSON).send(JSON.stringify(answer));
    } catch (error) {
      if (error instanceof GrantError) return writeAwsError(res, error.code, 400, error.message);
      throw error;
    }
  });

  return router;
}
