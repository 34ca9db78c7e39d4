/**
 * Which query parameters of `POST /auth/signin/cognito` may reach the Hosted
 * UI. Auth.js copies every query parameter of the sign-in request into the
 * `/oauth2/authorize` URL, over its own `redirect_uri`, `client_id` and
 * `scope`; only the parameters below are the caller's to choose, and only an
 * identity provider the service allows (COGNITO_IDENTITY_PROVIDERS). Not about
 * HTTP: the guard in `auth-actions.ts` turns a refusal into a 400.
 */

/**
 * The caller's parameters, each at most once: which identity provider to send
 * the user to (`identity_provider`, by name), a username or email to prefill,
 * and the Hosted UI's language. `idp_identifier` is named here only to be
 * refused with its own reason (see {@link checkSignInParams}).
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
 */
export const SIGN_IN_PARAMS: readonly string[] = Object.freeze(["identity_provider", "idp_identifier", "login_hint", "lang"]);

const ALLOWED = new Set(SIGN_IN_PARAMS);
const MAX_VALUE_LENGTH = 256;
const PRINTABLE_NAME = /^[\w.-]{1,40}$/;

/**
 * Why a sign-in query was refused: the public description and, for the log
 * only, the detail (a parameter's name, never its value).
 */
export type SignInParamsCheck = { ok: true } | { ok: false; reason: "params" | "identity_provider"; logDetail: string };

function named(name: string): string {
  return PRINTABLE_NAME.test(name) ? name : "(unprintable name)";
}

/**
 * Checks the sign-in request's query string (`?a=1&b=2`, or empty) the way
 * Auth.js will read it (WHATWG `URLSearchParams`): only `identity_provider`,
 * `login_hint` and `lang`, each at most once, each value 1-256 characters,
 * and `identity_provider` exactly one of `identityProviders` (case matters, as
 * at Cognito). Everything else (the BFF's own `redirect_uri`, `client_id`,
 * `scope`, `response_type`, `state`, PKCE and `nonce`, or any unknown name) is
 * refused rather than dropped, so a crafted link fails visibly instead of
 * signing in with parameters other than the ones it shows.
 *
 * `idp_identifier` is always refused: an identifier (such as an email domain)
 * names a provider only inside the user pool, so the BFF could not hold it to
 * the allow-list; callers ask for the provider by name instead.
 */
export function checkSignInParams(search: string, identityProviders: readonly string[]): SignInParamsCheck {
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(search)) {
    if (!ALLOWED.has(name)) return { ok: false, reason: "params", logDetail: `sign-in query parameter not allowed: ${named(name)}` };
    if (seen.has(name)) return { ok: false, reason: "params", logDetail: `sign-in query parameter repeated: ${name}` };
    seen.add(name);
    if (value.length === 0 || value.length > MAX_VALUE_LENGTH) {
      return { ok: false, reason: "params", logDetail: `sign-in query parameter ${name}: value must be 1-${MAX_VALUE_LENGTH} characters` };
    }
    if (name === "idp_identifier") {
      return { ok: false, reason: "identity_provider", logDetail: "sign-in query parameter idp_identifier: not supported, identity_provider names the provider" };
    }
    if (name === "identity_provider" && !identityProviders.includes(value)) {
      return { ok: false, reason: "identity_provider", logDetail: "sign-in query parameter identity_provider: not in COGNITO_IDENTITY_PROVIDERS" };
    }
  }
  return { ok: true };
}
