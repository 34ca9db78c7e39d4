/**
 * The Cognito user pools JSON API (`X-Amz-Target`), the operations a BFF uses:
 * InitiateAuth (REFRESH_TOKEN_AUTH), GetTokensFromRefreshToken, RevokeToken.
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RevokeToken.html
 */
import { createHmac } from "node:crypto";
import express, { Router, type Response } from "express";
import type { ErrorWriter, Faults, Operation } from "./faults.js";
import { GrantError, type Grants, type IssuedTokens } from "./grants.js";
import type { EmulatorClient } from "./index.js";
import { safeEqual } from "./oauth-routes.js";
import type { Store } from "./store.js";

const TARGET_PREFIX = "AWSCognitoIdentityProviderService.";
const JSON_TYPE = "application/x-amz-json-1.1";

/** Base64(HMAC-SHA256(key = client secret, message = username + client id)), as Cognito verifies it. */
export function computeSecretHash(username: string, clientId: string, clientSecret: string): string {
  const mac = createHmac("sha256", Buffer.from(clientSecret, "utf8"));
  mac.update(Buffer.from(`${username}${clientId}`, "utf8"));
  return mac.digest().toString("base64");
}

export const writeAwsError: ErrorWriter = (res, code, status, message) => {
  res.status(status).setHeader("x-amzn-ErrorType", code).type(JSON_TYPE).send(JSON.stringify({ __type: code, message }));
};

function answer(res: Response, tokens: IssuedTokens): void {
  res.type(JSON_TYPE).send(
    JSON.stringify({
      AuthenticationResult: {
        AccessToken: tokens.accessToken,
        ExpiresIn: tokens.expiresIn,
        ...(tokens.idToken ? { IdToken: tokens.idToken } : {}),
        ...(tokens.refreshToken ? { RefreshToken: tokens.refreshToken } : {}),
        TokenType: "Bearer",
      },
      ChallengeParameters: {},
    }),
  );
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);

export function idpApi(store: Store, grants: Grants, faults: Faults): Router {
  const router = Router();
  router.post("/", express.json({ type: () => true, limit: "1mb" }), async (req, res) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : "";
    const body = (req.body ?? {}) as Record<string, unknown>;
    const known = ["InitiateAuth", "GetTokensFromRefreshToken", "RevokeToken"];
    if (!known.includes(operation)) return writeAwsError(res, "UnknownOperationException", 400, `Unknown operation ${operation}`);
    if (await faults.apply(operation as Operation, req, res, writeAwsError)) return;

    const clientId = str(body.ClientId);
    const client = clientId ? store.clients.get(clientId) : undefined;
    if (!client) return writeAwsError(res, "ResourceNotFoundException", 400, `User pool client ${clientId ?? ""} does not exist.`);
    try {
      if (operation === "InitiateAuth") return await initiateAuth(res, body, client);
      if (operation === "GetTokensFromRefreshToken") return await getTokensFromRefreshToken(res, body, client);
      return revokeToken(res, body, client);
    } catch (error) {
      if (error instanceof GrantError) return writeAwsError(res, error.code, 400, error.message);
      throw error;
    }
  });

  function checkClientSecret(client: EmulatorClient, given: string | undefined, verify: (secret: string) => boolean): void {
    if (client.clientSecret === undefined) return;
    if (given === undefined) throw new GrantError("NotAuthorizedException", `Client ${client.clientId} is configured for secret but secret was not received`);
    if (!verify(client.clientSecret)) throw new GrantError("NotAuthorizedException", `Unable to verify secret hash for client ${client.clientId}`);
  }

  async function initiateAuth(res: Response, body: Record<string, unknown>, client: EmulatorClient): Promise<void> {
    const flow = str(body.AuthFlow);
    if (flow !== "REFRESH_TOKEN_AUTH" && flow !== "REFRESH_TOKEN") {
      throw new GrantError("InvalidParameterException", `Unsupported AuthFlow ${flow ?? ""} in the emulator`);
    }
    // Rotation and REFRESH_TOKEN_AUTH exclude each other: a rotating client has the flow disabled.
    if (client.rotation?.enabled) throw new GrantError("InvalidParameterException", "REFRESH_TOKEN_AUTH flow not enabled for this client");
    const params = (body.AuthParameters ?? {}) as Record<string, unknown>;
    const refreshToken = str(params.REFRESH_TOKEN) ?? "";
    const record = store.refreshTokens.get(refreshToken);
    if (!record) throw new GrantError("NotAuthorizedException", "Invalid Refresh Token");
    const given = str(params.SECRET_HASH);
    checkClientSecret(client, given, (secret) => safeEqual(given!, computeSecretHash(record.username, client.clientId, secret)));
    answer(res, await grants.refresh(refreshToken, client, false));
  }

  async function getTokensFromRefreshToken(res: Response, body: Record<string, unknown>, client: EmulatorClient): Promise<void> {
    const given = str(body.ClientSecret);
    checkClientSecret(client, given, (secret) => safeEqual(given!, secret));
    answer(res, await grants.refresh(str(body.RefreshToken) ?? "", client, client.rotation?.enabled === true));
  }

  function revokeToken(res: Response, body: Record<string, unknown>, client: EmulatorClient): void {
    const given = str(body.ClientSecret);
    checkClientSecret(client, given, (secret) => safeEqual(given!, secret));
    const token = str(body.Token) ?? "";
    const record = store.refreshTokens.get(token);
    if (record && record.clientId !== client.clientId) throw new GrantError("UnauthorizedException", "The token was not issued to this client.");
    store.revoke(token);
    res.type(JSON_TYPE).send("{}");
  }

  return router;
}
