/**
 * The browser client's decisions, without a browser: the BFF is a fetch
 * function answering like GET /token does, on a server clock the test sets
 * apart from the "browser" clock.
 */
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  BffClientError,
  createBffClient,
  createTabSync,
  isSignInRequired,
  SessionExpiredError,
  SignInRequiredError,
  UnauthenticatedError,
  type BffClient,
} from "@cognito-bff/client";

const BASE = "https://bff.example.test";

interface Call {
  url: string;
  method: string;
  headers: Headers;
  credentials: RequestCredentials | undefined;
}

/** A BFF whose clock is `server.now` (ms); each /token answer is a new token living `ttl` seconds. */
function fakeBff(server: { now: number; ttl?: number }) {
  const calls: Call[] = [];
  let next: (() => Response | Promise<Response>) | undefined;
  let issued = 0;
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    calls.push({ url: String(input), method: init.method ?? "GET", headers: new Headers(init.headers), credentials: init.credentials });
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (next) return next();
    const nowSeconds = Math.floor(server.now / 1000);
    const expiresAt = nowSeconds + (server.ttl ?? 300);
    issued += 1;
    return Response.json({ access_token: `token-${issued}`, token_type: "Bearer", expires_at: expiresAt, expires_in: expiresAt - nowSeconds, scope: "openid" });
  };
  return {
    fetch: fetch as typeof globalThis.fetch,
    calls,
    tokenCalls: () => calls.filter((c) => /\/token(\/refresh)?(\?|$)/.test(c.url)),
    /** The next answers come from `answer` until it is cleared with undefined. */
    answer(answer: (() => Response | Promise<Response>) | undefined) {
      next = answer;
    },
  };
}

const clients: BffClient[] = [];
function client(options: Parameters<typeof createBffClient>[0]): BffClient {
  const c = createBffClient({ tabSync: false, ...options });
  clients.push(c);
  return c;
}
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

describe("failures", () => {
  it("a session_expired answer is a SessionExpiredError, a SignInRequiredError, and forgets the token", async () => {
    const browser = { now: 1_700_000_000_000 };
    const bff = fakeBff({ now: browser.now, ttl: 40 });
    const c = client({ baseUrl: BASE, fetch: bff.fetch, now: () => browser.now });
    await c.getAccessToken({ minTtl: 0 });
    bff.answer(() => Response.json({ error: "session_expired", error_description: "Sign in again." }, { status: 401 }));
    const error = await c.getAccessToken({ minTtl: 60 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionExpiredError);
    expect(error).toBeInstanceOf(SignInRequiredError);
    expect(isSignInRequired(error)).toBe(true);
    expect(error).toMatchObject({ code: "session_expired", status: 401, message: "Sign in again." });
    expect(c.peekToken()).toBeUndefined();
  });

  it("no session is an UnauthenticatedError that also asks for sign-in", async () => {
    const bff = fakeBff({ now: Date.now() });
    bff.answer(() => Response.json({ error: "unauthenticated", error_description: "No valid session." }, { status: 401 }));
    const error = await client({ baseUrl: BASE, fetch: bff.fetch }).getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnauthenticatedError);
    expect(isSignInRequired(error)).toBe(true);
    expect(error).toMatchObject({ code: "unauthenticated", status: 401 });
  });

  it("a 503 without a usable token is temporarily_unavailable with Retry-After, and does not ask for sign-in", async () => {
    const bff = fakeBff({ now: Date.now() });
    bff.answer(() => Response.json({ error: "temporarily_unavailable", error_description: "Try again." }, { status: 503, headers: { "Retry-After": "7" } }));
    const error = await client({ baseUrl: BASE, fetch: bff.fetch }).getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BffClientError);
    expect(isSignInRequired(error)).toBe(false);
    expect(error).toMatchObject({ code: "temporarily_unavailable", status: 503, retryAfter: 7 });
  });

  it("a 503 while the token in memory is still valid returns that token instead of failing", async () => {
    const browser = { now: 1_700_000_000_000 };
    const bff = fakeBff({ now: browser.now, ttl: 300 });
    const c = client({ baseUrl: BASE, fetch: bff.fetch, now: () => browser.now });
    const first = await c.getAccessToken();
    browser.now += 290_000;
    bff.answer(() => Response.json({ error: "temporarily_unavailable" }, { status: 503, headers: { "Retry-After": "3" } }));
    expect(await c.getAccessToken({ minTtl: 30 })).toBe(first);
    expect(bff.tokenCalls()).toHaveLength(2);
    browser.now += 10_000;
    await expect(c.getAccessToken({ minTtl: 30 })).rejects.toMatchObject({ code: "temporarily_unavailable" });
  });

  it("an unreachable BFF is a network_error that names the likely cause, not a TypeError", async () => {
    const failing = (async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch;
    const error = await client({ baseUrl: BASE, fetch: failing }).getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BffClientError);
    expect(error).toMatchObject({ code: "network_error", message: `Could not reach the BFF at ${BASE} (offline, or this origin is not in its ALLOWED_ORIGINS).` });
  });

  it("an answer without an access token is invalid_response", async () => {
    const bff = fakeBff({ now: Date.now() });
    bff.answer(() => Response.json({ token_type: "Bearer", expires_at: 1, expires_in: 1 }));
    await expect(client({ baseUrl: BASE, fetch: bff.fetch }).getAccessToken()).rejects.toMatchObject({
      code: "invalid_response",
      message: "The BFF's /token answer has no valid access_token.",
    });
  });

  it("a baseUrl that is not an absolute http(s) URL is refused at creation", () => {
    expect(() => createBffClient({ baseUrl: "/bff" })).toThrow("createBffClient: baseUrl must be an absolute http(s) URL, such as https://bff.example.com");
  });
});

describe("getAccessToken", () => {
  it("calls GET /token with the cookie and X-CSRF: 1, then answers from memory while the token has more than minTtl left", async () => {
    const browser = { now: 1_700_000_000_000 };
    const bff = fakeBff({ now: browser.now, ttl: 300 });
    const c = client({ baseUrl: `${BASE}/`, fetch: bff.fetch, now: () => browser.now });
    expect(await c.getAccessToken({ minTtl: 60 })).toBe("token-1");
    const [call] = bff.calls;
    expect(call).toMatchObject({ url: `${BASE}/token?min_ttl=60`, method: "GET", credentials: "include" });
    expect(call!.headers.get("X-CSRF")).toBe("1");

    browser.now += 200_000;
    expect(await c.getAccessToken({ minTtl: 60 })).toBe("token-1");
    expect(bff.tokenCalls()).toHaveLength(1);
    browser.now += 40_000;
    expect(await c.getAccessToken({ minTtl: 60 })).toBe("token-2");
    expect(bff.tokenCalls()).toHaveLength(2);
  });

  it("judges the token's life by expires_in on the browser's clock, whatever the skew between the two clocks", async () => {
    for (const skewMs of [-3_600_000, 0, 3_600_000]) {
      const browser = { now: 1_700_000_000_000 };
      const bff = fakeBff({ now: browser.now + skewMs, ttl: 300 });
      const c = client({ baseUrl: BASE, fetch: bff.fetch, now: () => browser.now });
      const token = await c.getToken({ minTtl: 60 });
      expect(Math.abs(token.clockSkewMs - skewMs), `skew ${skewMs}`).toBeLessThanOrEqual(1000);
      expect(c.secondsLeft()).toBe(299);
      browser.now += 230_000;
      await c.getAccessToken({ minTtl: 60 });
      expect(bff.tokenCalls(), `skew ${skewMs}`).toHaveLength(1);
      browser.now += 10_000;
      await c.getAccessToken({ minTtl: 60 });
      expect(bff.tokenCalls(), `skew ${skewMs}`).toHaveLength(2);
    }
  });

  it("concurrent calls in one page share one request and one token", async () => {
    const bff = fakeBff({ now: Date.now() });
    const c = client({ baseUrl: BASE, fetch: bff.fetch });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => c.getAccessToken()));
    expect(new Set(tokens)).toEqual(new Set(["token-1"]));
    expect(bff.tokenCalls()).toHaveLength(1);
  });

  it("forceRefresh POSTs /token/refresh even with a fresh token in memory", async () => {
    const bff = fakeBff({ now: Date.now() });
    const c = client({ baseUrl: BASE, fetch: bff.fetch });
    await c.getAccessToken();
    expect(await c.getAccessToken({ forceRefresh: true })).toBe("token-2");
    expect(bff.calls.map((x) => `${x.method} ${x.url}`)).toEqual([`GET ${BASE}/token?min_ttl=30`, `POST ${BASE}/token/refresh`]);
  });
});

describe("tabs", () => {
  it("two tabs that need a token at once make one request; the other tab takes the broadcast token", async () => {
    const name = `test-${randomUUID()}`;
    const bff = fakeBff({ now: Date.now() });
    const tab = () => client({ baseUrl: BASE, fetch: bff.fetch, tabSync: createTabSync({ name, locks: null }), handoffWaitMs: 2000 });
    const [a, b] = [tab(), tab()];
    const [ta, tb] = await Promise.all([a.getAccessToken(), b.getAccessToken()]);
    expect(bff.tokenCalls()).toHaveLength(1);
    expect([ta, tb]).toEqual(["token-1", "token-1"]);
  });

  it("a sign-in-required answer in one tab clears the token in the others", async () => {
    const name = `test-${randomUUID()}`;
    const bff = fakeBff({ now: Date.now(), ttl: 20 });
    const tab = () => client({ baseUrl: BASE, fetch: bff.fetch, tabSync: createTabSync({ name, locks: null }) });
    const [a, b] = [tab(), tab()];
    await a.getAccessToken({ minTtl: 0 });
    await expect.poll(() => b.peekToken()?.accessToken).toBe("token-1");
    const changes: unknown[] = [];
    b.onChange((token) => changes.push(token));
    bff.answer(() => Response.json({ error: "session_expired" }, { status: 401 }));
    await expect(a.getAccessToken({ minTtl: 60 })).rejects.toBeInstanceOf(SessionExpiredError);
    await expect.poll(() => changes).toEqual([undefined]);
    expect(b.peekToken()).toBeUndefined();
  });
});

describe("fetchWithToken", () => {
  it("adds the bearer token and keeps the caller's headers", async () => {
    const bff = fakeBff({ now: Date.now() });
    const c = client({ baseUrl: BASE, fetch: bff.fetch });
    await c.fetchWithToken("https://api.example.test/orders", { headers: { Accept: "text/plain" } });
    const api = bff.calls.at(-1)!;
    expect(api.url).toBe("https://api.example.test/orders");
    expect(api.headers.get("Authorization")).toBe("Bearer token-1");
    expect(api.headers.get("Accept")).toBe("text/plain");
  });

  it("fetchBff calls the BFF with the cookie and X-CSRF: 1", async () => {
    const bff = fakeBff({ now: Date.now() });
    await client({ baseUrl: BASE, fetch: bff.fetch }).fetchBff("/api/sample/hello");
    expect(bff.calls[0]).toMatchObject({ url: `${BASE}/api/sample/hello`, credentials: "include" });
    expect(bff.calls[0]!.headers.get("X-CSRF")).toBe("1");
    expect(bff.calls[0]!.headers.get("Authorization")).toBeNull();
  });
});

describe("the package", () => {
  it("the client imports nothing but its own modules, so it ships without dependencies and without Node APIs", () => {
    const dir = new URL("../../packages/client/src/", import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
    expect(files).toContain("index.ts");
    let seen = 0;
    for (const file of files) {
      const source = readFileSync(new URL(file, dir), "utf8");
      const specifiers = [...source.matchAll(/^\s*(?:import|export)[^"']*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]!);
      expect(specifiers.filter((s) => !s.startsWith("./")), file).toEqual([]);
      seen += specifiers.length;
    }
    expect(seen).toBeGreaterThanOrEqual(5);
  });
});

describe("signOut", () => {
  /** A document whose forms are recorded instead of submitted. */
  function fakeDocument() {
    const submitted: Array<{ action: string; method: string; fields: Record<string, string> }> = [];
    const document = {
      createElement(tag: string) {
        const element = { tag, children: [] as Array<{ name: string; value: string }>, style: {}, method: "", action: "", name: "", value: "", type: "" };
        return Object.assign(element, {
          appendChild: (child: { name: string; value: string }) => element.children.push(child),
          submit: () => submitted.push({ action: element.action, method: element.method, fields: Object.fromEntries(element.children.map((c) => [c.name, c.value])) }),
        });
      },
      body: { appendChild: () => undefined },
    };
    return { document, submitted };
  }

  it.each([
    [{}, undefined],
    [{ everywhere: true }, "true"],
  ] as const)("posts the sign-out form to Auth.js with the CSRF token (%o: everywhere=%s)", async (options, everywhere) => {
    const { document, submitted } = fakeDocument();
    const saved = { document: globalThis.document, location: globalThis.location };
    Object.assign(globalThis, { document, location: { href: "https://app.example.test/page" } });
    try {
      const bff = fakeBff({ now: 1_700_000_000_000 });
      bff.answer(() => Response.json({ csrfToken: "csrf-1" }));
      await client({ baseUrl: BASE, fetch: bff.fetch }).signOut(options);
      expect(submitted).toEqual([
        {
          action: `${BASE}/auth/signout`,
          method: "POST",
          fields: { csrfToken: "csrf-1", callbackUrl: "https://app.example.test/page", ...(everywhere ? { everywhere } : {}) },
        },
      ]);
    } finally {
      Object.assign(globalThis, saved);
    }
  });
});

describe("signIn", () => {
  /** Records the forms the client submits instead of navigating. */
  function recordForms() {
    const submitted: Array<{ action: string; method: string; fields: Record<string, string> }> = [];
    const document = {
      createElement(tag: string) {
        const element = { tag, children: [] as Array<{ name: string; value: string }>, style: {}, method: "", action: "", name: "", value: "", type: "" };
        return Object.assign(element, {
          appendChild: (child: { name: string; value: string }) => element.children.push(child),
          submit: () => submitted.push({ action: element.action, method: element.method, fields: Object.fromEntries(element.children.map((c) => [c.name, c.value])) }),
        });
      },
      body: { appendChild: () => undefined },
    };
    return { document, submitted };
  }

  it.each([
    [{}, `${BASE}/auth/signin/cognito`],
    [{ identityProvider: "Google" }, `${BASE}/auth/signin/cognito?identity_provider=Google`],
    [
      { identityProvider: "Okta SAML&x=1", loginHint: "ada+1@example.com", lang: "fr", callbackUrl: "https://app.example.test/after" },
      `${BASE}/auth/signin/cognito?identity_provider=Okta+SAML%26x%3D1&login_hint=ada%2B1%40example.com&lang=fr`,
    ],
  ] as const)("posts the sign-in form with the CSRF token; identityProvider, loginHint and lang go on the URL's query, encoded (%o)", async (options, action) => {
    const { document, submitted } = recordForms();
    const saved = { document: globalThis.document, location: globalThis.location };
    Object.assign(globalThis, { document, location: { href: "https://app.example.test/page" } });
    try {
      const bff = fakeBff({ now: 1_700_000_000_000 });
      bff.answer(() => Response.json({ csrfToken: "csrf-1" }));
      await client({ baseUrl: BASE, fetch: bff.fetch }).signIn(options);
      expect(submitted).toEqual([
        { action, method: "POST", fields: { csrfToken: "csrf-1", callbackUrl: "callbackUrl" in options ? options.callbackUrl : "https://app.example.test/page" } },
      ]);
      // Exactly the parameters given, each once: what the BFF's allow-list checks.
      const query = new URL(action).searchParams;
      expect([...query.keys()]).toEqual([...new Set(query.keys())]);
    } finally {
      Object.assign(globalThis, saved);
    }
  });
});
