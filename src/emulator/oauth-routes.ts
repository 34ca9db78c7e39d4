/**
 * The OAuth 2.0 / OIDC endpoints of a user pool and its domain: discovery,
 * JWKS, userInfo, revoke and logout, plus the authorize and token routers.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/federation-endpoints.html
 */
import express, { Router, type Request, type Response } from "express";
import { importJWK, jwtVerify } from "jose";
import { authorizeRoutes } from "./authorize.js";
import { authenticateClient } from "./client-auth.js";
import type { Clock } from "./clock.js";
import type { Faults, Operation } from "./faults.js";
import type { Variants } from "./variants.js";
import type { GoogleAccount } from "./federation.js";
import type { Grants } from "./grants.js";
import { errorPage } from "./login-page.js";
import { writeOAuthError } from "./responses.js";
import type { Store, StoredUser } from "./store.js";
import { tokenEndpoint } from "./token-endpoint.js";
import type { SigningKeys, TokenMinter } from "./tokens.js";

export interface OAuthContext {
  url: string;
  issuer: string;
  poolId: string;
  store: Store;
  grants: Grants;
  minter: TokenMinter;
  keys: SigningKeys;
  clock: Clock;
  faults: Faults;
  variants: Variants;
  authCodeTtlSeconds: number;
  googleAccounts: readonly GoogleAccount[];
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/** Standard claims that the `profile` scope releases at userInfo (custom attributes come with it too). */
const PROFILE_CLAIMS = [
  "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile",
  "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
];

/**
 * The userInfo answer for a user and the access token's scopes: `openid`
 * alone releases every attribute; `profile`, `email` and `phone` release their
 * groups. Values are strings, `email_verified` included, as Cognito sends them.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/userinfo-endpoint.html
 */
export function userInfoClaims(user: StoredUser, scopes: string[]): Record<string, string> {
  const all: Record<string, string> = { ...(user.attributes ?? {}), email: user.email, email_verified: String(user.emailVerified ?? false) };
  const narrowing = scopes.filter((s) => s === "profile" || s === "email" || s === "phone");
  const released = narrowing.length === 0
    ? all
    : Object.fromEntries(
        Object.entries(all).filter(([name]) =>
          (scopes.includes("profile") && (PROFILE_CLAIMS.includes(name) || name.startsWith("custom:"))) ||
          (scopes.includes("email") && (name === "email" || name === "email_verified")) ||
          (scopes.includes("phone") && (name === "phone_number" || name === "phone_number_verified")),
        ),
      );
  // A federated user's identities, as the JSON string Cognito keeps as the attribute.
  const identities: Record<string, string> = user.identities?.length ? { identities: JSON.stringify(user.identities) } : {};
  return { sub: user.sub, ...released, ...identities, username: user.username };
}

export function oauthRoutes(ctx: OAuthContext): Router {
  const { store, faults, issuer, url } = ctx;
  const router = Router();
  const faulted = (op: Operation) => async (req: Request, res: Response, next: () => void) => {
    if (!(await faults.apply(op, req, res))) next();
  };

  router.get(`/${ctx.poolId}/.well-known/openid-configuration`, faulted("discovery"), (_req, res) => {
    res.json({
      issuer,
      authorization_endpoint: `${url}/oauth2/authorize`,
      token_endpoint: `${url}/oauth2/token`,
      userinfo_endpoint: `${url}/oauth2/userInfo`,
      revocation_endpoint: `${url}/oauth2/revoke`,
      end_session_endpoint: `${url}/logout`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
      scopes_supported: ["openid", "email", "phone", "profile"],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      code_challenge_methods_supported: ["S256"],
    });
  });

  router.get(`/${ctx.poolId}/.well-known/jwks.json`, faulted("jwks"), (_req, res) => {
    res.json({ keys: [ctx.keys.publicJwk] });
  });

  router.use(authorizeRoutes(ctx));
  router.use(tokenEndpoint(ctx));

  const userInfo = async (req: Request, res: Response) => {
    if (await faults.apply("userInfo", req, res)) return;
    const header = req.headers.authorization ?? "";
    const token = /^bearer /i.test(header) ? header.slice(7).trim() : "";
    try {
      const key = await importJWK(ctx.keys.publicJwk, "RS256");
      const { payload } = await jwtVerify(token, key, { issuer, currentDate: new Date(ctx.clock.now()) });
      const scopes = typeof payload.scope === "string" ? payload.scope.split(" ") : [];
      const user = typeof payload.username === "string" ? store.users.get(payload.username) : undefined;
      const revoked = store.revokedOrigins.has(String(payload.origin_jti));
      // Only a user's access token from the token endpoint, with openid, that is not revoked.
      if (payload.token_use !== "access" || !scopes.includes("openid") || !user || !user.enabled || revoked) throw new Error("invalid");
      res.json(userInfoClaims(user, scopes));
    } catch {
      res.status(401).setHeader("WWW-Authenticate", 'Bearer error="invalid_token"').json({ error: "invalid_token" });
    }
  };
  router.get("/oauth2/userInfo", userInfo);
  router.post("/oauth2/userInfo", userInfo);

  /** @see https://docs.aws.amazon.com/cognito/latest/developerguide/revocation-endpoint.html */
  router.post("/oauth2/revoke", express.urlencoded({ extended: false }), async (req, res) => {
    if (await faults.apply("revoke", req, res)) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!req.is("application/x-www-form-urlencoded")) return writeOAuthError(res, "invalid_request");
    const client = authenticateClient(req.headers, body, store);
    if (!client) return writeOAuthError(res, "invalid_client", 401);
    const token = str(body.token);
    if (!token) return writeOAuthError(res, "invalid_request");
    // Only refresh tokens can be revoked; access and ID tokens are JWTs (three segments).
    if (token.split(".").length === 3) return writeOAuthError(res, "unsupported_token_type");
    const record = store.refreshTokens.get(token);
    if (record && record.clientId !== client.clientId) return writeOAuthError(res, "unauthorized_client");
    store.revoke(token);
    // Unknown and already revoked tokens are 200 too (RFC 7009 section 2.2).
    res.status(200).end();
  });

  /** @see https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html */
  router.get("/logout", faulted("logout"), (req, res) => {
    const clientId = str(req.query.client_id);
    const client = clientId ? store.clients.get(clientId) : undefined;
    if (!client) return void res.status(400).type("html").send(errorPage("invalid_request: client_id is missing or unknown"));
    const logoutUri = str(req.query.logout_uri);
    if (logoutUri) {
      if (!client.logoutUris.includes(logoutUri)) return void res.status(400).type("html").send(errorPage("invalid_request: logout_uri is not registered"));
      return void res.redirect(302, logoutUri);
    }
    if (str(req.query.redirect_uri) && str(req.query.response_type)) {
      // Sign out, then sign in again: on to the authorize endpoint with the same parameters.
      const target = new URL(`${url}/oauth2/authorize`);
      for (const [k, v] of Object.entries(req.query)) if (typeof v === "string") target.searchParams.set(k, v);
      return void res.redirect(302, target.toString());
    }
    res.status(400).type("html").send(errorPage("invalid_request: logout_uri or redirect_uri is required"));
  });

  return router;
}
