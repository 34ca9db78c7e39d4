/**
 * The Hosted UI and OAuth 2.0 / OIDC endpoints of a user pool domain.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/federation-endpoints.html
 */
import { createHash, timingSafeEqual } from "node:crypto";
import express, { Router, type Request, type Response } from "express";
import { jwtVerify, importJWK } from "jose";
import type { Clock } from "./clock.js";
import type { ErrorWriter, Faults, Operation } from "./faults.js";
import { GrantError, type Grants, type IssuedTokens } from "./grants.js";
import type { EmulatorClient } from "./index.js";
import { errorPage, loginPage } from "./login-page.js";
import type { Store } from "./store.js";
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
  authCodeTtlSeconds: number;
}

const DEFAULT_SCOPES = ["openid", "email", "profile", "aws.cognito.signin.user.admin"];
const oauthError: ErrorWriter = (res, code, status) => void res.status(status).json({ error: code });

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Client authentication at the token and revoke endpoints: HTTP Basic or client_secret_post. */
function authenticateClient(req: Request, store: Store): EmulatorClient | undefined {
  let id = str(req.body?.client_id);
  let secret = str(req.body?.client_secret);
  const header = req.headers.authorization;
  if (header?.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return undefined;
    id = decodeURIComponent(decoded.slice(0, colon));
    secret = decodeURIComponent(decoded.slice(colon + 1));
  }
  const client = id ? store.clients.get(id) : undefined;
  if (!client) return undefined;
  if (client.clientSecret !== undefined && (secret === undefined || !safeEqual(secret, client.clientSecret))) return undefined;
  return client;
}

function tokenBody(tokens: IssuedTokens): Record<string, unknown> {
  return {
    ...(tokens.idToken ? { id_token: tokens.idToken } : {}),
    access_token: tokens.accessToken,
    ...(tokens.refreshToken ? { refresh_token: tokens.refreshToken } : {}),
    expires_in: tokens.expiresIn,
    token_type: "Bearer",
  };
}

export function oauthRoutes(ctx: OAuthContext): Router {
  const { store, faults, issuer, url } = ctx;
  const router = Router();
  const form = express.urlencoded({ extended: false });
  const faulted = (op: Operation) => async (req: Request, res: Response, next: () => void) => {
    if (!(await faults.apply(op, req, res, oauthError))) next();
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
      response_types_supported: ["code", "token"],
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

  /** Checks an authorize request; returns an error page text or a redirect error, or the clean parameters. */
  function checkAuthorize(q: Record<string, unknown>): { page: string } | { redirect: string } | { params: Record<string, string> } {
    const clientId = str(q.client_id);
    const redirectUri = str(q.redirect_uri);
    const client = clientId ? store.clients.get(clientId) : undefined;
    if (!client) return { page: "invalid_request: unknown client_id" };
    if (!redirectUri || !client.redirectUris.includes(redirectUri)) return { page: "redirect_mismatch" };
    const state = str(q.state);
    const fail = (error: string) => {
      const target = new URL(redirectUri);
      target.searchParams.set("error", error);
      if (state) target.searchParams.set("state", state);
      return { redirect: target.toString() };
    };
    if (str(q.response_type) !== "code") return fail("unsupported_response_type");
    const scopes = (str(q.scope) ?? "").split(" ").filter(Boolean);
    const allowed = client.scopes ?? DEFAULT_SCOPES;
    if (scopes.some((s) => !allowed.includes(s))) return fail("invalid_scope");
    const challenge = str(q.code_challenge);
    if (challenge && str(q.code_challenge_method) !== "S256") return fail("invalid_request");
    const params: Record<string, string> = { client_id: client.clientId, redirect_uri: redirectUri, response_type: "code", scope: scopes.join(" ") };
    for (const name of ["state", "nonce", "code_challenge", "code_challenge_method"]) {
      const value = str(q[name]);
      if (value) params[name] = value;
    }
    return { params };
  }

  router.get("/oauth2/authorize", faulted("authorize"), (req, res) => {
    const checked = checkAuthorize(req.query);
    if ("page" in checked) res.status(400).type("html").send(errorPage(checked.page));
    else if ("redirect" in checked) res.redirect(302, checked.redirect);
    else res.type("html").send(loginPage(checked.params));
  });

  router.post("/login", form, faulted("login"), (req, res) => {
    const { username, password, ...rest } = req.body as Record<string, unknown>;
    const checked = checkAuthorize(rest);
    if ("page" in checked) return void res.status(400).type("html").send(errorPage(checked.page));
    if ("redirect" in checked) return void res.redirect(302, checked.redirect);
    const user = typeof username === "string" ? store.findUser(username) : undefined;
    if (!user || typeof password !== "string" || !safeEqual(password, user.password)) {
      return void res.type("html").send(loginPage(checked.params, "Incorrect username or password."));
    }
    if (!user.enabled) return void res.type("html").send(loginPage(checked.params, "User is disabled."));
    const { params } = checked;
    const code = store.issueCode(
      {
        clientId: params.client_id!,
        username: user.username,
        redirectUri: params.redirect_uri!,
        scopes: params.scope!.split(" ").filter(Boolean),
        codeChallenge: params.code_challenge,
        nonce: params.nonce,
        authTime: Math.floor(ctx.clock.now() / 1000),
      },
      ctx.authCodeTtlSeconds,
    );
    const target = new URL(params.redirect_uri!);
    target.searchParams.set("code", code);
    if (params.state) target.searchParams.set("state", params.state);
    res.redirect(302, target.toString());
  });

  router.post("/oauth2/token", form, async (req, res) => {
    const grantType = str(req.body?.grant_type);
    const op: Operation =
      grantType === "refresh_token" ? "token:refresh_token" : grantType === "client_credentials" ? "token:client_credentials" : "token:authorization_code";
    if (await faults.apply(op, req, res, oauthError)) return;
    const client = authenticateClient(req, store);
    if (!client) return void res.status(400).json({ error: "invalid_client" });
    try {
      if (grantType === "authorization_code") {
        const code = store.takeCode(str(req.body.code) ?? "");
        if (!code || code.clientId !== client.clientId || code.redirectUri !== str(req.body.redirect_uri)) {
          return void res.status(400).json({ error: "invalid_grant" });
        }
        if (code.codeChallenge) {
          const verifier = str(req.body.code_verifier) ?? "";
          const computed = createHash("sha256").update(verifier).digest("base64url");
          if (!safeEqual(computed, code.codeChallenge)) return void res.status(400).json({ error: "invalid_grant" });
        }
        return void res.json(tokenBody(await ctx.grants.forCode(code, client)));
      }
      if (grantType === "refresh_token") {
        const tokens = await ctx.grants.refresh(str(req.body.refresh_token) ?? "", client, client.rotation?.enabled === true);
        return void res.json(tokenBody(tokens));
      }
      if (grantType === "client_credentials") {
        if (!client.clientSecret) return void res.status(400).json({ error: "unauthorized_client" });
        const allowed = client.clientCredentialsScopes ?? [];
        const requested = (str(req.body.scope) ?? allowed.join(" ")).split(" ").filter(Boolean);
        if (requested.length === 0 || requested.some((s) => !allowed.includes(s))) return void res.status(400).json({ error: "invalid_scope" });
        const accessToken = await ctx.minter.clientToken(issuer, client.clientId, requested);
        return void res.json({ access_token: accessToken, expires_in: ctx.minter.accessTtlSeconds, token_type: "Bearer" });
      }
      res.status(400).json({ error: "unsupported_grant_type" });
    } catch (error) {
      if (error instanceof GrantError) return void res.status(400).json({ error: "invalid_grant" });
      throw error;
    }
  });

  const userInfo = async (req: Request, res: Response) => {
    if (await faults.apply("userInfo", req, res, oauthError)) return;
    const header = req.headers.authorization ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : "";
    try {
      const key = await importJWK(ctx.keys.publicJwk, "RS256");
      const { payload } = await jwtVerify(token, key, { issuer, currentDate: new Date(ctx.clock.now()) });
      const user = typeof payload.username === "string" ? store.users.get(payload.username) : undefined;
      if (payload.token_use !== "access" || !user || store.revokedOrigins.has(String(payload.origin_jti))) throw new Error("invalid");
      res.json({
        sub: user.sub,
        email_verified: String(user.emailVerified ?? false),
        email: user.email,
        username: user.username,
        ...(user.attributes ?? {}),
      });
    } catch {
      res.status(401).json({ error: "invalid_token" });
    }
  };
  router.get("/oauth2/userInfo", userInfo);
  router.post("/oauth2/userInfo", userInfo);

  router.post("/oauth2/revoke", form, async (req, res) => {
    if (await faults.apply("revoke", req, res, oauthError)) return;
    const client = authenticateClient(req, store);
    if (!client) return void res.status(400).json({ error: "invalid_client" });
    const token = str(req.body?.token);
    if (!token) return void res.status(400).json({ error: "invalid_request" });
    const record = store.refreshTokens.get(token);
    if (record && record.clientId !== client.clientId) return void res.status(400).json({ error: "unauthorized_client" });
    store.revoke(token);
    res.status(200).end();
  });

  router.get("/logout", faulted("logout"), (req, res) => {
    const clientId = str(req.query.client_id);
    const client = clientId ? store.clients.get(clientId) : undefined;
    if (!client) return void res.status(400).type("html").send(errorPage("invalid_request: unknown client_id"));
    const logoutUri = str(req.query.logout_uri);
    if (logoutUri) {
      if (!client.logoutUris.includes(logoutUri)) return void res.status(400).type("html").send(errorPage("invalid_request: logout_uri not registered"));
      return void res.redirect(302, logoutUri);
    }
    if (str(req.query.redirect_uri) && str(req.query.response_type)) {
      const target = new URL(`${url}/oauth2/authorize`);
      for (const [k, v] of Object.entries(req.query)) if (typeof v === "string") target.searchParams.set(k, v);
      return void res.redirect(302, target.toString());
    }
    res.status(400).type("html").send(errorPage("invalid_request: logout_uri or redirect_uri required"));
  });

  return router;
}
