/// <reference lib="dom" />
/**
 * `@cognito-bff/client`: the browser side of the BFF, with no dependencies.
 *
 * ```ts
 * import { createBffClient, isSignInRequired } from "@cognito-bff/client";
 * const bff = createBffClient({ baseUrl: "https://bff.example.com" });
 * const res = await bff.fetchWithToken("https://api.example.com/orders");
 * ```
 *
 * The access token lives only in memory. {@link BffClient.getAccessToken}
 * returns it while it has enough life left and otherwise asks `GET /token`;
 * concurrent calls in a page share one request, and tabs share one refresh
 * (see `tab-sync.ts`).
 */
import { BffClientError, errorFromResponse, SignInRequiredError } from "./errors.js";
import { createTabSync, type TabMessage, type TabSync } from "./tab-sync.js";
import { hasLifeLeft, parseTokenResponse, secondsLeft, type AccessToken } from "./token.js";

export * from "./errors.js";
export { createTabSync, type LockManagerLike, type TabMessage, type TabSync, type TabSyncOptions } from "./tab-sync.js";
export { hasLifeLeft, parseTokenResponse, secondsLeft, type AccessToken } from "./token.js";

/** The BFF's upper bound for `min_ttl`. */
const MAX_MIN_TTL = 86_400;

export interface BffClientOptions {
  /** Where the BFF is served, e.g. `https://bff.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** Seconds of life a returned token must have left, unless a call says otherwise; default 30. */
  minTtl?: number;
  /** The browser's clock, epoch ms; default `Date.now`. */
  now?: () => number;
  /** Cross-tab coordination; default Web Locks + BroadcastChannel. `false`: this client only. */
  tabSync?: TabSync | false;
  /** Name of the lock and channel; default `cognito-bff-token`. Use one per BFF if a page talks to several. */
  name?: string;
  /**
   * How long a tab that waited for another tab's refresh waits for that tab's
   * broadcast before asking the BFF itself; default 250 ms.
   */
  handoffWaitMs?: number;
  /** The Auth.js provider id; default `cognito`. */
  provider?: string;
}

export interface GetTokenOptions {
  /** Seconds of life the token must have left; default the client's `minTtl`. */
  minTtl?: number;
  /** Ask the BFF to refresh now (`POST /token/refresh`), whatever the token's life. */
  forceRefresh?: boolean;
}

/** The signed-in user, from Auth.js's `/auth/session`. */
export interface BffUser {
  /** Cognito `sub`. */
  id?: string;
  /** `cognito:username` (`google_<id>` for a user who signed in with Google). */
  username?: string;
  email?: string;
  name?: string;
  /** The user's Cognito groups (`[]` when none); a federated user is in `<userPoolId>_<provider>`. */
  groups?: string[];
  /** The identity provider the user signed in with, e.g. `Google`; `COGNITO` for a user of the pool. */
  identity_provider?: string | null;
}

export interface SignInOptions {
  /** Where to come back to; default this page. */
  callbackUrl?: string;
  /**
   * Skip the Hosted UI's own form for this identity provider, e.g. `Google`
   * (`identity_provider`); the BFF must list it in COGNITO_IDENTITY_PROVIDERS.
   */
  identityProvider?: string;
  /** A username or email to prefill (`login_hint`). */
  loginHint?: string;
  /** The Hosted UI's language (`lang`), e.g. `fr`. */
  lang?: string;
}

export interface BffClient {
  /** A bearer token with at least `minTtl` seconds left, from memory or from `GET /token`. */
  getAccessToken(options?: GetTokenOptions): Promise<string>;
  /** Like getAccessToken, with the expiry and scope. */
  getToken(options?: GetTokenOptions): Promise<AccessToken>;
  /** The token in memory, if any, without asking anyone. */
  peekToken(): AccessToken | undefined;
  /** Seconds of life the token in memory has left (0 without one). */
  secondsLeft(): number;
  /** `fetch` with `Authorization: Bearer <access token>`; for APIs that take the token directly. */
  fetchWithToken(input: RequestInfo | URL, init?: RequestInit & { minTtl?: number }): Promise<Response>;
  /** `fetch` to the BFF itself (e.g. `/api/orders/...`) with the session cookie and `X-CSRF: 1`. */
  fetchBff(path: string, init?: RequestInit): Promise<Response>;
  /** The signed-in user, or null. */
  getUser(): Promise<BffUser | null>;
  /**
   * Navigates to the Cognito Hosted UI through Auth.js, or with `identityProvider`
   * straight to that provider (e.g. "Sign in with Google"); comes back to `callbackUrl`
   * (default: this page).
   */
  signIn(options?: SignInOptions): Promise<void>;
  /**
   * Forgets the token in every tab, then signs out through Auth.js: the session
   * ends (every copy of its cookie) and its refresh token is revoked. With
   * `everywhere: true`, every session of the user ends, in every browser.
   */
  signOut(options?: { callbackUrl?: string; everywhere?: boolean }): Promise<void>;
  /** Called with every new token (from this tab or another) and with undefined after a sign-out. */
  onChange(listener: (token: AccessToken | undefined) => void): () => void;
  /** Stops listening to other tabs. */
  close(): void;
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * Creates the client for one BFF.
 * @throws {TypeError} when `baseUrl` is not an absolute http(s) URL.
 */
export function createBffClient(options: BffClientOptions): BffClient {
  if (!URL.canParse(options.baseUrl) || !/^https?:$/.test(new URL(options.baseUrl).protocol)) {
    throw new TypeError("createBffClient: baseUrl must be an absolute http(s) URL, such as https://bff.example.com");
  }
  const base = withoutTrailingSlash(options.baseUrl);
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const now = options.now ?? Date.now;
  const defaultMinTtl = options.minTtl ?? 30;
  const handoffWaitMs = options.handoffWaitMs ?? 250;
  const provider = options.provider ?? "cognito";
  const tabs: TabSync | undefined =
    options.tabSync === false ? undefined : (options.tabSync ?? createTabSync({ name: options.name ?? "cognito-bff-token" }));

  let current: AccessToken | undefined;
  const inflight = new Map<"get" | "force", Promise<AccessToken>>();
  const listeners = new Set<(token: AccessToken | undefined) => void>();
  const tokenWaiters = new Set<() => void>();

  function setToken(token: AccessToken | undefined): void {
    current = token;
    for (const listener of listeners) listener(token);
    if (token) for (const wake of tokenWaiters) wake();
  }

  const unsubscribe = tabs?.subscribe((message: TabMessage) => {
    if (message.type === "signed-out") setToken(undefined);
    else if (!current || message.token.expiresAt >= current.expiresAt) setToken(message.token);
  });

  function waitForBroadcast(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        tokenWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      tokenWaiters.add(done);
    });
  }

  async function send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetchImpl(url, { credentials: "include", cache: "no-store", ...init });
    } catch (cause) {
      throw new BffClientError(
        "network_error",
        `Could not reach the BFF at ${base} (offline, or this origin is not in its ALLOWED_ORIGINS).`,
        { cause },
      );
    }
  }

  async function requestToken(minTtl: number, force: boolean): Promise<AccessToken> {
    const url = force ? `${base}/token/refresh` : `${base}/token`;
    const query = !force && minTtl > 0 ? `?min_ttl=${Math.min(MAX_MIN_TTL, Math.ceil(minTtl))}` : "";
    const sentAt = now();
    const response = await send(url + query, {
      method: force ? "POST" : "GET",
      headers: { "X-CSRF": "1", Accept: "application/json" },
    });
    if (!response.ok) throw await errorFromResponse(response, now());
    let body: unknown;
    try {
      body = await response.json();
    } catch (cause) {
      throw new BffClientError("invalid_response", "The BFF's /token answer is not JSON.", { status: response.status, cause });
    }
    return parseTokenResponse(body, sentAt);
  }

  /** One tab at a time asks the BFF; the others take the token it broadcasts. */
  function refreshAcrossTabs(minTtl: number, force: boolean): Promise<AccessToken> {
    const task = async (waited: boolean): Promise<AccessToken> => {
      if (!force) {
        if (hasLifeLeft(current, minTtl, now())) return current;
        if (waited) {
          await waitForBroadcast(handoffWaitMs);
          if (hasLifeLeft(current, minTtl, now())) return current;
        }
      }
      try {
        const token = await requestToken(minTtl, force);
        setToken(token);
        tabs?.publish({ type: "token", token });
        return token;
      } catch (error) {
        if (error instanceof SignInRequiredError) {
          setToken(undefined);
          tabs?.publish({ type: "signed-out" });
        } else if (!force && hasLifeLeft(current, 0, now())) {
          // A transient failure (503, network): the token in hand is still valid, and better than none.
          return current;
        }
        throw error;
      }
    };
    return tabs ? tabs.exclusive(task) : task(false);
  }

  async function getToken(opts: GetTokenOptions = {}): Promise<AccessToken> {
    const minTtl = Math.max(0, opts.minTtl ?? defaultMinTtl);
    const force = opts.forceRefresh === true;
    if (!force && hasLifeLeft(current, minTtl, now())) return current;
    const key = force ? "force" : "get";
    let pending = inflight.get(key);
    if (!pending) {
      pending = refreshAcrossTabs(minTtl, force).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    return pending;
  }

  async function getCsrfToken(): Promise<string> {
    const response = await send(`${base}/auth/csrf`, { method: "GET" });
    if (!response.ok) throw await errorFromResponse(response, now());
    const body = (await response.json().catch(() => ({}))) as { csrfToken?: unknown };
    if (typeof body.csrfToken !== "string") throw new BffClientError("invalid_response", "The BFF's /auth/csrf answer has no csrfToken.");
    return body.csrfToken;
  }

  /** A top-level form POST: Auth.js answers with redirects the browser must follow as a navigation. */
  function submitForm(action: string, fields: Record<string, string>): void {
    const form = document.createElement("form");
    form.method = "POST";
    form.action = action;
    form.style.display = "none";
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.appendChild(input);
    }
    document.body.appendChild(form);
    form.submit();
  }

  return {
    getToken,
    async getAccessToken(opts) {
      return (await getToken(opts)).accessToken;
    },
    peekToken: () => current,
    secondsLeft: () => (current ? secondsLeft(current, now()) : 0),
    async fetchWithToken(input, init = {}) {
      const { minTtl, ...rest } = init;
      const token = await getToken(minTtl === undefined ? {} : { minTtl });
      const headers = new Headers(rest.headers ?? (input instanceof Request ? input.headers : undefined));
      headers.set("Authorization", `Bearer ${token.accessToken}`);
      return fetchImpl(input, { ...rest, headers });
    },
    fetchBff(path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("X-CSRF", "1");
      return fetchImpl(`${base}${path.startsWith("/") ? path : `/${path}`}`, { credentials: "include", ...init, headers });
    },
    async getUser() {
      const response = await send(`${base}/auth/session`, { method: "GET" });
      if (!response.ok) throw await errorFromResponse(response, now());
      const session = (await response.json().catch(() => null)) as { user?: BffUser } | null;
      return session?.user ?? null;
    },
    async signIn(opts = {}) {
      const csrfToken = await getCsrfToken();
      // Auth.js passes the sign-in URL's query (not the form) on to the Hosted UI's authorize URL.
      const query = new URLSearchParams();
      if (opts.identityProvider) query.set("identity_provider", opts.identityProvider);
      if (opts.loginHint) query.set("login_hint", opts.loginHint);
      if (opts.lang) query.set("lang", opts.lang);
      const search = query.toString();
      submitForm(`${base}/auth/signin/${encodeURIComponent(provider)}${search ? `?${search}` : ""}`, { csrfToken, callbackUrl: opts.callbackUrl ?? location.href });
    },
    async signOut(opts = {}) {
      setToken(undefined);
      tabs?.publish({ type: "signed-out" });
      const csrfToken = await getCsrfToken();
      submitForm(`${base}/auth/signout`, {
        csrfToken,
        callbackUrl: opts.callbackUrl ?? location.href,
        ...(opts.everywhere ? { everywhere: "true" } : {}),
      });
    },
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      unsubscribe?.();
      tabs?.close();
    },
  };
}
