/**
 * The guard in front of Auth.js's routes: only the actions and methods this
 * service documents reach it.
 */
import type { RequestHandler } from "express";
import { parseCookieHeader } from "../auth/session-cookies.js";
import { BffError } from "../errors.js";
import { checkSignInParams } from "./sign-in-params.js";

/** The Auth.js actions this service uses (as in openapi.yaml) and their methods; the rest of /auth is a 404. */
const AUTH_ACTION = /^\/(signin(?:\/cognito)?|callback\/cognito|signout|session|csrf|providers|error)\/?$/;
const GET_ONLY = new Set(["session", "csrf", "providers", "error"]);

/**
 * In front of Auth.js: it answers unknown actions and methods with a bare
 * `"Bad request."` (or `null` for POST /session without CSRF) and throws on
 * methods WebCrypto's Request rejects (TRACE, CONNECT), which would be a 500.
 * Those get our documented 404/405 in the `{error, error_description}` shape.
 * A sign-in may ask only for one of `identityProviders` (COGNITO_IDENTITY_PROVIDERS).
 */
export const authActionsOnly = (identityProviders: readonly string[]): RequestHandler => (req, res, next) => {
  const action = AUTH_ACTION.exec(req.path)?.[1];
  if (!action) return next(new BffError("not_found"));
  const allowed = GET_ONLY.has(action) ? "GET" : "GET, POST";
  if (req.method !== "GET" && !(req.method === "POST" && allowed !== "GET")) {
    res.setHeader("Allow", allowed);
    return next(new BffError("method_not_allowed"));
  }
  // Auth.js answers a non-http(s) callbackUrl (query or its own cookie) with a 500 error page.
  const cookies = parseCookieHeader(req.headers.cookie);
  const callbackUrls = [req.query.callbackUrl, cookies["authjs.callback-url"], cookies["__Secure-authjs.callback-url"]];
  if (callbackUrls.some((value) => value !== undefined && !isHttpUrl(value))) {
    return next(new BffError("invalid_request", { description: "callbackUrl must be an http(s) URL or a path." }));
  }
  // Auth.js copies this request's query into the Hosted UI's authorize URL (over its own redirect_uri and client_id).
  if (action === "signin/cognito" && req.method === "POST") {
    const checked = checkSignInParams(searchOf(req.originalUrl), identityProviders);
    if (!checked.ok) return next(new BffError("invalid_request", { description: SIGN_IN_RULES[checked.reason], logDetail: checked.logDetail }));
  }
  next();
};

const SIGN_IN_RULES = {
  params: "Sign-in takes only the query parameters identity_provider, login_hint and lang, each at most once.",
  identity_provider: "identity_provider must name an identity provider this service allows (idp_identifier is not supported).",
} as const;

function searchOf(url: string): string {
  const query = url.indexOf("?");
  return query === -1 ? "" : url.slice(query);
}

function isHttpUrl(value: unknown): boolean {
  return typeof value === "string" && URL.canParse(value, "http://x") && /^https?:$/.test(new URL(value, "http://x").protocol);
}
