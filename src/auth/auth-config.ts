/**
 * The Auth.js configuration: the Cognito provider, the one `jwt` callback, the
 * session shape, the redirect rule and sign-out revocation.
 */
import type { ExpressAuthConfig } from "@auth/express";
import Cognito from "@auth/express/providers/cognito";
import { decodeJwt } from "jose";
import type { Config } from "../config.js";
import { accessTokenExpiry } from "../cognito/token-expiry.js";
import { isBffError } from "../errors.js";
import { loggableText, type Logger } from "../log.js";
import type { TokenRefresher } from "../refresh/token-refresher.js";
import type { RevocationCheck } from "./revocations.js";
import type { EndSession } from "./end-session.js";
import type { SessionStore } from "./session-store.js";
import { newSessionId, toSessionPayload, withSessionId, type SessionTokens } from "./session-payload.js";
import { groupsOf, identityProviderOf } from "./user-claims.js";

export interface AuthConfigDeps {
  config: Config;
  refresher: TokenRefresher;
  /** Ends a session at sign-out: its id, its cached refresh result, its refresh token at Cognito. */
  endSession: EndSession;
  /** Where Auth.js's session lives when it is not Auth.js's own cookie (SESSION_STORE=redis). */
  sessions?: Pick<SessionStore, "authjs">;
  log: Logger;
  /** Epoch milliseconds. */
  now: () => number;
  /** Administrative revocation: a revoked session ends here too (so /auth/session ends). */
  revocations?: RevocationCheck;
}

/** The OAuth account Auth.js hands to the `jwt` callback at sign-in (the fields we use). */
export interface SignInAccount {
  access_token?: string;
  id_token?: string;
  refresh_token?: string;
  /** The token endpoint's lifetime, seconds (Auth.js passes the whole token response). */
  expires_in?: number | string;
  /** Auth.js's `Date.now() / 1000 + expires_in`: absolute, on Auth.js's own clock. */
  expires_at?: number;
  providerAccountId?: string;
}

function stringClaim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** The token response's lifetime in seconds: `expires_in`, or Auth.js's absolute `expires_at` turned back into one. */
function signInLifetime(account: SignInAccount): number | undefined {
  const expiresIn = Number(account.expires_in);
  if (account.expires_in !== undefined && Number.isFinite(expiresIn) && expiresIn > 0) return expiresIn;
  if (typeof account.expires_at === "number") return account.expires_at - Math.floor(Date.now() / 1000);
  return undefined;
}

/**
 * The session fields stored at sign-in. `expires_at` is the access token's own
 * `exp`, or earlier where the token response's `expires_in` says so (never
 * `expires_at` added to `Date.now()` again). The username for SECRET_HASH is
 * `cognito:username` (the access token's `username`), not the email.
 * @throws {Error} when Cognito's answer lacks what a refreshable session needs.
 */
export function sessionTokensFromSignIn(
  account: SignInAccount,
  profile: Record<string, unknown> | undefined,
  nowSeconds: number,
): SessionTokens {
  const { access_token, refresh_token, id_token } = account;
  if (!access_token || !refresh_token) throw new Error("Cognito sign-in returned no access or refresh token");
  const accessClaims = decodeJwt(access_token) as Record<string, unknown>;
  const idClaims = profile ?? (id_token ? (decodeJwt(id_token) as Record<string, unknown>) : {});
  const expiresAt = accessTokenExpiry(access_token, signInLifetime(account), nowSeconds);
  const username = stringClaim(idClaims, "cognito:username") ?? stringClaim(accessClaims, "username");
  const sub = stringClaim(idClaims, "sub") ?? stringClaim(accessClaims, "sub") ?? account.providerAccountId;
  if (typeof expiresAt !== "number" || !username || !sub) {
    throw new Error("Cognito sign-in returned tokens without expiry, username or sub");
  }
  const tokens: SessionTokens = {
    access_token,
    refresh_token,
    expires_at: expiresAt,
    issued_at: Math.min(nowSeconds, expiresAt),
    cognito_username: username,
    cognito_sub: sub,
    signed_in_at: nowSeconds,
    sid: newSessionId(),
  };
  if (id_token) tokens.id_token = id_token;
  const scope = stringClaim(accessClaims, "scope");
  if (scope) tokens.scope = scope;
  return tokens;
}

/**
 * Post-sign-in/out redirects go only to this service, an allowed SPA origin,
 * or the Hosted UI `/logout` of our client: exactly one `client_id` (ours),
 * exactly one `logout_uri` on this service or an allowed SPA origin, and no
 * other parameter (a second `logout_uri`, or a `redirect_uri` that makes the
 * Hosted UI sign in again and send the code elsewhere, is refused), no userinfo.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/logout-endpoint.html
 */
export function isAllowedRedirect(url: string, config: Config): boolean {
  if (!URL.canParse(url)) return false;
  const target = new URL(url);
  const allowedOrigins = new Set([config.publicUrl.origin, ...config.allowedOrigins]);
  if (allowedOrigins.has(target.origin)) return true;
  const domain = config.cognito.domain;
  if (!domain || `${target.origin}${target.pathname}` !== `${new URL(domain).origin}/logout`) return false;
  if (target.username || target.password) return false;
  const params = [...target.searchParams];
  const clientIds = target.searchParams.getAll("client_id");
  const logoutUris = target.searchParams.getAll("logout_uri");
  const logoutUri = logoutUris[0];
  return (
    params.length === 2 &&
    clientIds.length === 1 &&
    clientIds[0] === config.cognito.clientId &&
    logoutUris.length === 1 &&
    logoutUri !== undefined &&
    URL.canParse(logoutUri) &&
    allowedOrigins.has(new URL(logoutUri).origin)
  );
}

/** Errors in a cause chain worth following; Auth.js's own are seldom deeper than three. */
const MAX_CAUSES = 5;

/**
 * Why Auth.js failed, for the log: the name and message of each error in the
 * cause chain, e.g. `CallbackRouteError <- OperationProcessingError: unexpected
 * ID Token "nonce" claim value`. Auth.js wraps the original error as
 * `cause.err`, next to fields that hold claims and tokens; only Error names and
 * messages are read, and every token-like run in them is redacted.
 */
export function authjsErrorChain(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSES && current instanceof Error; depth++) {
    const message = loggableText(current.message.replace(/\.?\s*Read more at https:\/\/errors\.authjs\.dev\S*/, ""));
    parts.push(message ? `${current.name}: ${message}` : current.name);
    const cause: unknown = current.cause;
    current = cause instanceof Error ? cause : (cause as { err?: unknown } | undefined)?.err;
  }
  return parts.join(" <- ");
}

/** Auth.js's `jwt` options over a session store's own encode/decode (the cookie then holds what the store says). */
function authjsJwt(store: NonNullable<SessionStore["authjs"]>): NonNullable<ExpressAuthConfig["jwt"]> {
  return {
    encode: ({ token }) => store.encode(token ?? {}),
    decode: async ({ token }) => (token ? ((await store.decode(token)) as Awaited<ReturnType<NonNullable<NonNullable<ExpressAuthConfig["jwt"]>["decode"]>>>) : null),
  };
}

/** Auth.js errors caused by what the client sent (logged at warn; the client gets a 4xx or a redirect). */
const AUTHJS_CLIENT_ERRORS = new Set(["JWTSessionError", "MissingCSRF", "InvalidCheck", "UnknownAction", "InvalidCallbackUrl"]);

export function createAuthConfig({ config, refresher, endSession, log, now, revocations, sessions }: AuthConfigDeps): ExpressAuthConfig {
  const { cognito: c } = config;
  const warned = new Set<string>();
  // With COGNITO_DOMAIN every endpoint Auth.js calls is explicit, so it never fetches
  // `${issuer}/.well-known/openid-configuration` (signin fetches it only without an
  // authorization URL, the callback only without a token/userinfo URL). Its ID token
  // check needs no JWKS: the token comes straight from the token endpoint (OIDC Core
  // 3.1.3.7), so only iss/aud/exp/iat/sub (and nonce) are checked. userInfo is never
  // called for this OIDC provider; it only completes the set of explicit endpoints.
  const hostedUi = c.domain
    ? {
        authorization: { url: `${c.domain}/oauth2/authorize`, params: { scope: c.scopes.join(" ") } },
        token: `${c.domain}/oauth2/token`,
        userinfo: `${c.domain}/oauth2/userInfo`,
      }
    : { authorization: { params: { scope: c.scopes.join(" ") } } };

  return {
    basePath: "/auth",
    secret: [...config.authSecrets],
    trustHost: true,
    useSecureCookies: config.publicUrl.protocol === "https:",
    session: { strategy: "jwt", maxAge: config.sessionMaxAgeSeconds },
    ...(sessions?.authjs ? { jwt: authjsJwt(sessions.authjs) } : {}),
    providers: [
      Cognito({
        clientId: c.clientId,
        clientSecret: c.clientSecret ?? "",
        issuer: c.issuer,
        // Without nonce (COGNITO_NONCE_CHECK=false, emulators that do not echo it) PKCE and state remain.
        checks: c.nonceCheck ? ["pkce", "state", "nonce"] : ["pkce", "state"],
        client: { token_endpoint_auth_method: c.tokenAuthMethod },
        ...hostedUi,
      }),
    ],
    callbacks: {
      async jwt({ token, account, profile }) {
        if (account) {
          return { ...token, ...sessionTokensFromSignIn(account, profile, Math.floor(now() / 1000)) };
        }
        const session = toSessionPayload(token);
        if (!session) return null;
        try {
          revocations?.assertActive(session);
        } catch {
          return null;
        }
        try {
          const { tokens } = await refresher.ensureFresh(session);
          // Auth.js re-issues the cookie here: an older cookie gets its session id.
          return withSessionId({ ...token, ...tokens });
        } catch (error) {
          // A rejected refresh token ends the session; anything transient keeps it as it is.
          if (isBffError(error) && error.code === "session_expired") return null;
          return token;
        }
      },
      session({ session, token }) {
        const t = toSessionPayload(token);
        if (!t) return session;
        // Groups and provider from the session's tokens; the tokens themselves never go out here.
        return {
          ...session,
          user: {
            ...session.user,
            id: t.cognito_sub,
            username: t.cognito_username,
            groups: groupsOf(t.access_token),
            identity_provider: identityProviderOf(t.id_token) ?? null,
          },
          access_token_expires_at: t.expires_at,
        };
      },
      redirect({ url, baseUrl }) {
        // A path of our own; "//host" and "/\\host" would leave the origin in a browser's hands.
        if (url.startsWith("/") && !url.startsWith("//") && !url.includes("\\")) return `${baseUrl}${url}`;
        return isAllowedRedirect(url, config) ? url : baseUrl;
      },
    },
    events: {
      async signOut(message) {
        const session = "token" in message ? toSessionPayload(message.token) : null;
        if (!session) return;
        await endSession(session);
      },
    },
    logger: {
      error(error) {
        // A tampered or stale cookie, a missing CSRF token or a bad check is the client's input, not our failure.
        const level = AUTHJS_CLIENT_ERRORS.has(error.name) ? "warn" : "error";
        log[level]({ authjs: error.name, reason: authjsErrorChain(error) }, "Auth.js error");
      },
      warn(code) {
        // Some warnings (env-url-basepath-redundant) come with every request: once per process is enough.
        if (warned.has(code)) return;
        warned.add(code);
        log.warn({ authjs: code }, "Auth.js warning (logged once)");
      },
      debug() {
        // Auth.js debug output contains tokens; never forwarded.
      },
    },
  };
}
