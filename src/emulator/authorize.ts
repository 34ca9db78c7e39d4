/**
 * The Hosted UI sign-in: `GET /oauth2/authorize` checks the request and shows
 * the form (or, with `identity_provider`, sends the browser to that provider,
 * see federation.ts), `POST /login` checks the password and redirects with a code.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
 */
import express, { Router, type Response } from "express";
import type { Clock } from "./clock.js";
import type { Faults, Operation } from "./faults.js";
import { Federation, type GoogleAccount } from "./federation.js";
import { errorPage, loginPage } from "./login-page.js";
import { safeEqual } from "./secrets.js";
import type { Store } from "./store.js";
import type { Variants } from "./variants.js";

export interface AuthorizeContext {
  url: string;
  poolId: string;
  googleAccounts: readonly GoogleAccount[];
  store: Store;
  clock: Clock;
  faults: Faults;
  variants: Variants;
  authCodeTtlSeconds: number;
}

/** The request parameters carried from the authorize URL through the form. */
type AuthorizeParams = Record<string, string> & { client_id: string; redirect_uri: string; scope: string };

type Checked = { page: string } | { redirect: string } | { params: AuthorizeParams };

const CARRIED = ["state", "nonce", "code_challenge", "code_challenge_method"] as const;
/** OIDC scopes that Cognito grants only together with openid. */
const NEED_OPENID = ["email", "profile", "phone"];

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function errorRedirect(redirectUri: string, error: string, state: string | undefined): { redirect: string } {
  const target = new URL(redirectUri);
  target.searchParams.set("error", error);
  if (state) target.searchParams.set("state", state);
  return { redirect: target.toString() };
}

/**
 * Validates an authorize request. Until client_id and redirect_uri are known
 * good, errors are a page; after that, a redirect with `error` and `state`.
 */
export function checkAuthorize(q: Record<string, unknown>, store: Store): Checked {
  const clientId = str(q.client_id);
  const client = clientId ? store.clients.get(clientId) : undefined;
  if (!client) return { page: "invalid_request: client_id is missing or unknown" };
  const redirectUri = str(q.redirect_uri);
  if (!redirectUri || !client.redirectUris.includes(redirectUri)) return { page: "redirect_mismatch" };
  const state = str(q.state);
  if (str(q.response_type) !== "code") return errorRedirect(redirectUri, "unsupported_response_type", state);

  const allowed = store.allowedScopes(client);
  const requested = (str(q.scope) ?? "").split(/\s+/).filter(Boolean);
  // No scope requested: Cognito grants every scope the app client allows.
  const scopes = requested.length > 0 ? [...new Set(requested)] : [...allowed];
  if (scopes.some((s) => !allowed.includes(s))) return errorRedirect(redirectUri, "invalid_scope", state);
  if (!scopes.includes("openid") && scopes.some((s) => NEED_OPENID.includes(s))) return errorRedirect(redirectUri, "invalid_scope", state);

  const challenge = str(q.code_challenge);
  const method = str(q.code_challenge_method);
  if ((challenge && method !== "S256") || (method && !challenge)) return errorRedirect(redirectUri, "invalid_request", state);

  const params: AuthorizeParams = { client_id: client.clientId, redirect_uri: redirectUri, response_type: "code", scope: scopes.join(" ") };
  for (const name of CARRIED) {
    const value = str(q[name]);
    if (value) params[name] = value;
  }
  return { params };
}

/** A code for `username` and the request `params`, as the redirect URL back to the app (with its state). */
function codeRedirect(ctx: AuthorizeContext, params: AuthorizeParams, username: string): string {
  const code = ctx.store.issueCode(
    {
      clientId: params.client_id,
      username,
      redirectUri: params.redirect_uri,
      scopes: params.scope.split(" ").filter(Boolean),
      codeChallenge: params.code_challenge,
      // cognito-local drops it: the ID token then has no nonce claim.
      nonce: ctx.variants.idTokenNonce ? params.nonce : undefined,
      authTime: Math.floor(ctx.clock.now() / 1000),
    },
    ctx.authCodeTtlSeconds,
  );
  const target = new URL(params.redirect_uri);
  target.searchParams.set("code", code);
  if (params.state) target.searchParams.set("state", params.state);
  return target.toString();
}

export function authorizeRoutes(ctx: AuthorizeContext): Router {
  const { store, faults } = ctx;
  const router = Router();
  const federation = new Federation({
    ...ctx,
    ttlSeconds: ctx.authCodeTtlSeconds,
    finish: (params, username) => codeRedirect(ctx, params as AuthorizeParams, username),
  });
  const faulted = (op: Operation) => async (req: express.Request, res: Response, next: () => void) => {
    if (!(await faults.apply(op, req, res))) next();
  };
  const answerChecked = (res: Response, checked: { page: string } | { redirect: string }) => {
    if ("page" in checked) res.status(400).type("html").send(errorPage(checked.page));
    else res.redirect(302, checked.redirect);
  };

  router.get("/oauth2/authorize", faulted("authorize"), (req, res) => {
    const checked = checkAuthorize(req.query, store);
    if (!("params" in checked)) return answerChecked(res, checked);
    // idp_identifier maps to no provider here: the same page as an unknown provider name.
    const provider = str(req.query.identity_provider) ?? (str(req.query.idp_identifier) ? "" : undefined);
    const elsewhere = provider === undefined ? undefined : federation.redirectFor(provider, checked.params, str(req.query.login_hint));
    if (elsewhere) return res.redirect(302, elsewhere);
    res.type("html").send(loginPage(checked.params));
  });

  router.post("/login", express.urlencoded({ extended: false }), faulted("login"), (req, res) => {
    const { username, password, ...rest } = (req.body ?? {}) as Record<string, unknown>;
    const checked = checkAuthorize(rest, store);
    if (!("params" in checked)) return answerChecked(res, checked);
    const { params } = checked;
    const user = typeof username === "string" ? store.findUser(username.trim()) : undefined;
    // Like the Hosted UI: 200 with the form again, one message for unknown user and wrong password.
    if (!user || typeof password !== "string" || !safeEqual(password, user.password)) {
      return void res.type("html").send(loginPage(params, "Incorrect username or password."));
    }
    if (!user.enabled) return void res.type("html").send(loginPage(params, "User is disabled."));
    res.redirect(302, codeRedirect(ctx, params, user.username));
  });

  router.use(federation.routes());
  return router;
}
