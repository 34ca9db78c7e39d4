/**
 * Which query parameters of `POST /auth/signin/cognito` may reach the Hosted
 * UI. Auth.js copies every query parameter of the sign-in request into the
 * `/oauth2/authorize` URL, over its own `redirect_uri`, `client_id` and
 * `scope`; only the parameters below are the caller's to choose. Not about
 * HTTP: the guard in `auth-actions.ts` turns a refusal into a 400.
 */

/**
 * The caller's parameters, each at most once: which identity provider to send
 * the user to (`identity_provider` by name, or `idp_identifier`, not both), a
 * username or email to prefill, and the Hosted UI's language.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html
 */
export const SIGN_IN_PARAMS: readonly string[] = Object.freeze(["identity_provider", "idp_identifier", "login_hint", "lang"]);

const ALLOWED = new Set(SIGN_IN_PARAMS);
const MAX_VALUE_LENGTH = 256;
const PRINTABLE_NAME = /^[\w.-]{1,40}$/;

/** Why a sign-in query was refused, for the log only (a parameter's name, never its value). */
export type SignInParamsCheck = { ok: true } | { ok: false; logDetail: string };

function named(name: string): string {
  return PRINTABLE_NAME.test(name) ? name : "(unprintable name)";
}

/**
 * Checks the sign-in request's query string (`?a=1&b=2`, or empty) the way
 * Auth.js will read it (WHATWG `URLSearchParams`): only {@link SIGN_IN_PARAMS},
 * each at most once, `identity_provider` and `idp_identifier` not together,
 * each value 1-256 characters. Everything else (the BFF's own `redirect_uri`,
 * `client_id`, `scope`, `response_type`, `state`, PKCE and `nonce`, or any
 * unknown name) is refused rather than dropped, so a crafted link fails
 * visibly instead of signing in with parameters other than the ones it shows.
 */
export function checkSignInParams(search: string): SignInParamsCheck {
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(search)) {
    if (!ALLOWED.has(name)) return { ok: false, logDetail: `sign-in query parameter not allowed: ${named(name)}` };
    if (seen.has(name)) return { ok: false, logDetail: `sign-in query parameter repeated: ${name}` };
    seen.add(name);
    if (value.length === 0 || value.length > MAX_VALUE_LENGTH) {
      return { ok: false, logDetail: `sign-in query parameter ${name}: value must be 1-${MAX_VALUE_LENGTH} characters` };
    }
  }
  if (seen.has("identity_provider") && seen.has("idp_identifier")) {
    return { ok: false, logDetail: "sign-in query parameters identity_provider and idp_identifier together" };
  }
  return { ok: true };
}
