/**
 * Sign-in through a federated identity provider, as the Hosted UI does it for
 * `identity_provider=Google`: the authorize endpoint sends the browser to the
 * provider (here the emulator's own stand-in under `/_google/`), the provider
 * comes back to `/oauth2/idpresponse`, and Cognito creates or updates the
 * federated user (`google_<sub>`, in the group `<poolId>_Google`, with the
 * `identities` attribute) and finishes the authorization code flow.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-identity-federation.html
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-social-idp.html
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import express, { Router } from "express";
import type { Clock } from "./clock.js";
import { googleConsentPage } from "./google-page.js";
import { errorPage } from "./login-page.js";
import type { FederatedIdentity, Store, StoredUser } from "./store.js";
import type { Variants } from "./variants.js";

/** An account of the emulated Google: `sub` is Google's user id (21 digits). */
export interface GoogleAccount {
  sub: string;
  email: string;
  name: string;
}

/** The provider name and type of the emulated Google, as a pool names a Google IdP. */
export const GOOGLE = "Google";
/** The pool's own users: `identity_provider=COGNITO` goes to its sign-in form. */
export const COGNITO = "COGNITO";
/**
 * The Hosted UI's answer to an `identity_provider` that is not on the pool or
 * not enabled for the app client: its own error page, no redirect back to the app.
 */
export const LOGIN_OPTION_UNAVAILABLE = "Login option is not available. Please try another one";

export const DEFAULT_GOOGLE_ACCOUNT: GoogleAccount = Object.freeze({ sub: "110248495921238986420", email: "demo.google@example.com", name: "Demo Google User" });

export interface FederationContext {
  url: string;
  poolId: string;
  store: Store;
  clock: Clock;
  variants: Variants;
  googleAccounts: readonly GoogleAccount[];
  /** How long a sign-in may wait at the provider; Cognito's own codes live as long. */
  ttlSeconds: number;
  /** Ends the flow like the sign-in form: a code for `username`, as the redirect URL back to the app. */
  finish(params: Record<string, string>, username: string): string;
}

interface Pending {
  params: Record<string, string>;
  expiresAt: number;
}

/** The account for an email: a configured one, or one made up for it (a stable 21-digit sub). */
function accountFor(email: string, accounts: readonly GoogleAccount[]): GoogleAccount {
  const known = accounts.find((a) => a.email.toLowerCase() === email.toLowerCase());
  if (known) return known;
  const digits = BigInt(`0x${createHash("sha256").update(email.toLowerCase()).digest("hex").slice(0, 16)}`).toString().padStart(20, "0");
  return { sub: `1${digits.slice(0, 20)}`, email, name: email.split("@")[0] || email };
}

/**
 * Creates the federated user at first sign-in, or updates its mapped
 * attributes (email, name) at later ones, as Cognito does at each sign-in.
 * Its username is `<provider>_<provider's user id>`, lower case in the
 * default variant; it is in the group `<poolId>_<provider>`.
 */
export function linkFederatedUser(ctx: Pick<FederationContext, "poolId" | "store" | "clock" | "variants">, account: GoogleAccount): StoredUser {
  const prefix = ctx.variants.federatedUsernameCase === "provider" ? GOOGLE : GOOGLE.toLowerCase();
  const username = `${prefix}_${account.sub}`;
  const existing = ctx.store.users.get(username);
  if (existing) {
    existing.email = account.email;
    existing.attributes = { ...existing.attributes, name: account.name };
    return existing;
  }
  const identity: FederatedIdentity = {
    userId: account.sub,
    providerName: GOOGLE,
    providerType: GOOGLE,
    issuer: null,
    primary: "true",
    dateCreated: String(ctx.clock.now()),
  };
  ctx.store.addUser({
    username,
    sub: randomUUID(),
    email: account.email,
    // Federated users have no password (status EXTERNAL_PROVIDER); the sign-in form never finds them.
    password: randomBytes(32).toString("base64url"),
    emailVerified: false,
    groups: [`${ctx.poolId}_${GOOGLE}`],
    attributes: { name: account.name },
    identities: [identity],
  });
  return ctx.store.users.get(username)!;
}

export class Federation {
  private readonly pending = new Map<string, Pending>();
  private readonly googleCodes = new Map<string, { account: GoogleAccount; state: string; expiresAt: number }>();

  constructor(private readonly ctx: FederationContext) {}

  /**
   * Where `/oauth2/authorize` sends the browser for `identity_provider`, or
   * the error page's URL when the pool or the app client does not offer it;
   * undefined for COGNITO (the pool's own sign-in form).
   */
  redirectFor(provider: string, params: Record<string, string>, loginHint: string | undefined): string | undefined {
    const client = this.ctx.store.clients.get(params.client_id!);
    const supported = client ? this.ctx.store.supportedIdentityProviders(client) : [];
    if (!supported.includes(provider) || (provider !== GOOGLE && provider !== COGNITO)) {
      return `${this.ctx.url}/error?${new URLSearchParams({ error: LOGIN_OPTION_UNAVAILABLE })}`;
    }
    if (provider === COGNITO) return undefined;
    const state = randomBytes(24).toString("base64url");
    this.pending.set(state, { params, expiresAt: this.ctx.clock.now() + this.ctx.ttlSeconds * 1000 });
    const target = new URL(`${this.ctx.url}/_google/o/oauth2/v2/auth`);
    target.search = new URLSearchParams({
      client_id: "cognito-emulator.apps.googleusercontent.example",
      redirect_uri: `${this.ctx.url}/oauth2/idpresponse`,
      response_type: "code",
      scope: "openid email profile",
      state,
      ...(loginHint ? { login_hint: loginHint } : {}),
    }).toString();
    return target.toString();
  }

  routes(): Router {
    const router = Router();
    const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
    const live = (state: string | undefined) => {
      const entry = state ? this.pending.get(state) : undefined;
      return entry && entry.expiresAt > this.ctx.clock.now() ? entry : undefined;
    };

    router.get("/_google/o/oauth2/v2/auth", (req, res) => {
      const state = str(req.query.state);
      if (!state || !live(state) || req.query.redirect_uri !== `${this.ctx.url}/oauth2/idpresponse`) {
        return void res.status(400).type("html").send(errorPage("invalid_request"));
      }
      const hint = str(req.query.login_hint);
      const account = hint ? accountFor(hint, this.ctx.googleAccounts) : (this.ctx.googleAccounts[0] ?? DEFAULT_GOOGLE_ACCOUNT);
      res.type("html").send(googleConsentPage({ state, email: account.email, name: account.name }));
    });

    router.post("/_google/consent", express.urlencoded({ extended: false }), (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const state = str(body.state);
      const email = str(body.email)?.trim();
      if (!state || !live(state) || !email) return void res.status(400).type("html").send(errorPage("invalid_request"));
      const code = randomUUID();
      this.googleCodes.set(code, { account: accountFor(email, this.ctx.googleAccounts), state, expiresAt: this.ctx.clock.now() + this.ctx.ttlSeconds * 1000 });
      res.redirect(302, `${this.ctx.url}/oauth2/idpresponse?${new URLSearchParams({ code, state })}`);
    });

    /** @see https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-social-idp.html */
    router.get("/oauth2/idpresponse", (req, res) => {
      const state = str(req.query.state);
      const code = str(req.query.code);
      const pending = live(state);
      const granted = code ? this.googleCodes.get(code) : undefined;
      // Single use, whatever the outcome.
      if (state) this.pending.delete(state);
      if (code) this.googleCodes.delete(code);
      if (!pending || !granted || granted.state !== state || granted.expiresAt <= this.ctx.clock.now()) {
        return void res.status(400).type("html").send(errorPage("invalid_request"));
      }
      const user = linkFederatedUser(this.ctx, granted.account);
      res.redirect(302, this.ctx.finish(pending.params, user.username));
    });

    router.get("/error", (req, res) => {
      res.status(400).type("html").send(errorPage(str(req.query.error) ?? "An error was encountered"));
    });

    return router;
  }
}
