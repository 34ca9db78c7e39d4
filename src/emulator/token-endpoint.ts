/**
 * `POST /oauth2/token`: the authorization_code, refresh_token and
 * client_credentials grants, with Cognito's OAuth error codes (all HTTP 400).
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
 */
import express, { Router, type Request, type Response } from "express";
import { authenticateClient } from "./client-auth.js";
import type { Faults, Operation } from "./faults.js";
import { GrantError, type Grants, type IssuedTokens } from "./grants.js";
import type { EmulatorClient } from "./index.js";
import { writeOAuthError } from "./responses.js";
import { s256, safeEqual } from "./secrets.js";
import type { Store } from "./store.js";
import type { TokenMinter } from "./tokens.js";
import type { Variants } from "./variants.js";

export interface TokenEndpointContext {
  issuer: string;
  store: Store;
  grants: Grants;
  minter: TokenMinter;
  faults: Faults;
  variants: Variants;
}

type Body = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** An OAuth refusal: the `error` code of the JSON answer. */
class OAuthError extends Error {}

function operationOf(grantType: string | undefined): Operation {
  if (grantType === "refresh_token") return "token:refresh_token";
  if (grantType === "client_credentials") return "token:client_credentials";
  return "token:authorization_code";
}

function tokenBody(tokens: IssuedTokens, variants: Variants): Record<string, unknown> {
  return {
    ...(tokens.idToken ? { id_token: tokens.idToken } : {}),
    access_token: tokens.accessToken,
    ...(tokens.refreshToken ? { refresh_token: tokens.refreshToken } : {}),
    expires_in: variants.tokenEndpointExpiresIn ?? tokens.expiresIn,
    token_type: "Bearer",
  };
}

export function tokenEndpoint(ctx: TokenEndpointContext): Router {
  const { store, grants, minter, faults, variants } = ctx;
  const router = Router();

  async function authorizationCode(body: Body, client: EmulatorClient): Promise<IssuedTokens> {
    const value = str(body.code);
    const redirectUri = str(body.redirect_uri);
    if (!value || !redirectUri) throw new OAuthError("invalid_request");
    // Taken (and so consumed) whatever happens next: a code never works twice.
    const code = store.takeCode(value);
    if (!code || code.clientId !== client.clientId || code.redirectUri !== redirectUri) throw new OAuthError("invalid_grant");
    if (code.codeChallenge) {
      const verifier = str(body.code_verifier);
      if (!verifier || !safeEqual(s256(verifier), code.codeChallenge)) throw new OAuthError("invalid_grant");
    }
    return grants.forCode(code, client);
  }

  async function refreshToken(body: Body, client: EmulatorClient): Promise<IssuedTokens> {
    const token = str(body.refresh_token);
    if (!token) throw new OAuthError("invalid_request");
    return grants.refresh(token, client, client.rotation?.enabled === true);
  }

  async function clientCredentials(body: Body, client: EmulatorClient): Promise<Record<string, unknown>> {
    const allowed = client.clientCredentialsScopes ?? [];
    if (!client.clientSecret || allowed.length === 0) throw new OAuthError("unauthorized_client");
    const requested = (str(body.scope) ?? "").split(/\s+/).filter(Boolean);
    // No scope requested: every resource-server scope the client allows.
    const scopes = requested.length > 0 ? [...new Set(requested)] : allowed;
    if (scopes.some((s) => !allowed.includes(s))) throw new OAuthError("invalid_scope");
    const accessToken = await minter.clientToken(ctx.issuer, client.clientId, scopes);
    return { access_token: accessToken, expires_in: variants.tokenEndpointExpiresIn ?? minter.accessTtlSeconds, token_type: "Bearer" };
  }

  router.post("/oauth2/token", express.urlencoded({ extended: false }), async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Body;
    const grantType = str(body.grant_type);
    if (await faults.apply(operationOf(grantType), req, res)) return;
    if (!req.is("application/x-www-form-urlencoded")) return writeOAuthError(res, "invalid_request");
    const client = authenticateClient(req.headers, body, store);
    if (!client) return writeOAuthError(res, "invalid_client");
    try {
      let answer: Record<string, unknown>;
      if (grantType === "authorization_code") answer = tokenBody(await authorizationCode(body, client), variants);
      else if (grantType === "refresh_token") answer = tokenBody(await refreshToken(body, client), variants);
      else if (grantType === "client_credentials") answer = await clientCredentials(body, client);
      else return writeOAuthError(res, grantType ? "unsupported_grant_type" : "invalid_request");
      res.setHeader("Cache-Control", "no-store").json(answer);
    } catch (error) {
      if (error instanceof OAuthError) return writeOAuthError(res, error.message);
      // Revoked, expired, reused refresh token, disabled user: all invalid_grant at the token endpoint.
      if (error instanceof GrantError) return writeOAuthError(res, "invalid_grant");
      throw error;
    }
  });

  return router;
}
