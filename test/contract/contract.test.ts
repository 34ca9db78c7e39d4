/**
 * The contract test: every operation of openapi.yaml driven through real HTTP
 * (a real BFF and the Cognito emulator) into each documented status, and the
 * answer checked against the spec. The last test requires that every
 * documented (operation, status) was seen, so the spec and the code cannot
 * drift apart in either direction.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { CookieJar } from "../helpers/cookie-jar.js";
import { signIn, startHarness, USER, type Bff, type Harness } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";
import { checkResponse, coveredPairs, documentedPairs, type CheckedResponse } from "./openapi-contract.js";

/** Nothing listens there (the discard port): Cognito, an upstream or Redis that cannot be reached. */
const CLOSED = "127.0.0.1:9";
const ADMIN_SECRET = "contract-admin-secret-0123456789abcdef";

let h: Harness;
let url: string;
/** A BFF whose Cognito issuer does not answer. */
let unready: Bff;
/** A BFF whose Redis does not answer (a harness of its own: the Redis is per harness). */
let redisDown: Harness;
/** SESSION_STORE=redis on the real Redis. */
let redisStore: Harness;
/** SESSION_STORE=redis whose Redis does not answer. */
let storeDown: Bff;
const REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
/** A well-formed ticket: reading it needs Redis. */
const TICKET_COOKIE = `authjs.session-token=v1.AAAAAAAA.${"B".repeat(22)}.${"C".repeat(22)}`;
/** `echo` answers what it saw; `slow` never answers. */
let upstreams: Record<"echo" | "slow", Upstream>;

beforeAll(async () => {
  upstreams = { echo: await startUpstream(), slow: await startUpstream(() => undefined) };
  const routes = {
    echo: { url: upstreams.echo.url, token: "user" },
    options: { url: upstreams.echo.url, token: "user", methods: ["OPTIONS"] },
    down: { url: `http://${CLOSED}`, token: "user-or-none" },
    slow: { url: upstreams.slow.url, token: "user-or-none", timeoutMs: 200 },
  };
  // REFRESH_MIN_INTERVAL_SECONDS 0: a forced refresh right after sign-in reaches Cognito (its failures are documented too).
  h = await startHarness({ env: { UPSTREAMS: JSON.stringify(routes), ADMIN_SECRET, REFRESH_MIN_INTERVAL_SECONDS: "0" } });
  url = h.bff.url;
  unready = await h.startBff({ COGNITO_ISSUER: `http://${CLOSED}/us-east-1_Emulator1` });
  redisDown = await startHarness({ redisUrl: `redis://${CLOSED}`, env: { ADMIN_SECRET } });
  storeDown = await redisDown.startBff({ SESSION_STORE: "redis" });
  redisStore = await startHarness({ redisUrl: REDIS, env: { SESSION_STORE: "redis" } });
});
afterAll(async () => {
  await Promise.all([h?.close(), redisDown?.close(), redisStore?.close()]);
  await Promise.all(Object.values(upstreams ?? {}).map((u) => u.close()));
});

const csrf: Record<string, string> = { "X-CSRF": "1" };

/** Checks the answer against the spec and that its body is the error `code`. */
async function checkError(operationId: string, response: Response, code: string): Promise<CheckedResponse> {
  const checked = await checkResponse(operationId, response);
  expect(checked.body, `${operationId} ${checked.status}`).toMatchObject({ error: code });
  return checked;
}

/** Signs in step by step, checking each of the BFF's answers against the spec. */
const SIGN_IN_OPERATIONS = { csrf: "getCsrfToken", signin: "signIn", callback: "signInCallback" } as const;
async function signInChecked(jar = new CookieJar()): Promise<CookieJar> {
  await signIn(url, USER, jar, async (step, response) => {
    const checked = await checkResponse(SIGN_IN_OPERATIONS[step], response);
    if (step === "callback") expect(checked.headers.get("location")).toBe(`${url}/`);
  });
  expect(jar.sessionCookieNames().length).toBeGreaterThan(0);
  return jar;
}

/**
 * Makes Cognito fail every refresh with `code` (the gateway retries transient
 * failures, so a one-shot fault would be retried away), and moves the clock
 * past the access token's expiry and past the stored result of the last
 * refresh, so the next call must ask Cognito.
 */
function failRefreshes(code: string, message: string, status?: number): void {
  h.emu.clock.advance(3600);
  h.emu.fault("InitiateAuth", { error: { code, message, ...(status ? { status } : {}) } });
}
const SECRET_HASH_REJECTED = ["NotAuthorizedException", "Unable to verify secret hash for client"] as const;
const RELAY_OPERATIONS = { relayGet: "GET", relayPost: "POST", relayPut: "PUT", relayPatch: "PATCH", relayDelete: "DELETE" };

describe("openapi.yaml against the running service", () => {
  it("the sign-in flow answers as documented, and /auth/session shows the user", async () => {
    await checkResponse("signInPage", await fetch(`${url}/auth/signin`));
    const anonymous = await checkResponse("getSession", await fetch(`${url}/auth/session`));
    expect(anonymous.body).toBeNull();
    const jar = await signInChecked();
    const session = await checkResponse("getSession", await jar.fetch(`${url}/auth/session`));
    expect((session.body as { user: { email: string } }).user.email).toBe(USER.email);
  });

  it("GET /token answers 200, 400, 401, 403, 500 and 503 as documented", async () => {
    const jar = await signInChecked();
    const ok = await checkResponse("getToken", await jar.fetch(`${url}/token`, { headers: csrf }));
    expect((ok.body as { token_type: string }).token_type).toBe("Bearer");
    await checkError("getToken", await jar.fetch(`${url}/token?min_ttl=soon`, { headers: csrf }), "invalid_request");
    await checkError("getToken", await fetch(`${url}/token`, { headers: csrf }), "unauthenticated");
    await checkError("getToken", await jar.fetch(`${url}/token`), "csrf_required");

    failRefreshes(...SECRET_HASH_REJECTED);
    await checkError("getToken", await jar.fetch(`${url}/token`, { headers: csrf }), "internal_error");
    failRefreshes("TooManyRequestsException", "Rate exceeded");
    const throttled = await jar.fetch(`${url}/token`, { headers: csrf });
    h.emu.clearFaults();
    await checkError("getToken", throttled, "temporarily_unavailable");
    const refreshed = await checkResponse("getToken", await jar.fetch(`${url}/token`, { headers: csrf }));
    expect(refreshed.status).toBe(200);
  });

  it("POST /token/refresh answers 200, 401, 403, 500 and 503 as documented", async () => {
    const jar = await signInChecked();
    const post = (j: CookieJar | undefined, headers: Record<string, string> = csrf) =>
      j ? j.fetch(`${url}/token/refresh`, { method: "POST", headers }) : fetch(`${url}/token/refresh`, { method: "POST", headers });
    await checkResponse("refreshToken", await post(jar));
    await checkError("refreshToken", await post(undefined), "unauthenticated");
    await checkError("refreshToken", await post(jar, {}), "csrf_required");
    failRefreshes(...SECRET_HASH_REJECTED);
    const misconfigured = await post(jar);
    h.emu.clearFaults();
    await checkError("refreshToken", misconfigured, "internal_error");
    failRefreshes("InternalErrorException", "Internal", 500);
    const unavailable = await checkError("refreshToken", await post(jar), "temporarily_unavailable");
    h.emu.clearFaults();
    expect(Number(unavailable.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  for (const [operationId, method] of Object.entries(RELAY_OPERATIONS)) {
    it(`${method} /api/{upstream}/{path} answers the upstream's answer, 400, 401, 403, 404, 405, 500, 502, 503 and 504 as documented`, async () => {
      const jar = await signInChecked();
      const body = method === "GET" || method === "DELETE" ? null : '{"qty":2}';
      const call = (path: string, { from = jar, headers = csrf } = {}) => from.fetch(`${url}/api/${path}`, { method, headers, body });

      // Not `..`: fetch would resolve it away; an encoded slash gets through and makes one.
      await checkError(operationId, await call("echo/..%2fadmin"), "invalid_request");
      await checkError(operationId, await call("echo/items", { from: new CookieJar() }), "unauthenticated");
      await checkError(operationId, await call("echo/items", { headers: {} }), "csrf_required");
      await checkError(operationId, await call("nope/items"), "not_found");
      const notAllowed = await checkError(operationId, await call("options/items"), "method_not_allowed");
      expect(notAllowed.headers.get("allow")).toBe("OPTIONS");
      await checkError(operationId, await call("down/items"), "bad_gateway");
      await checkError(operationId, await call("slow/items"), "gateway_timeout");

      // `user` mode refreshes through the same refresher as /token, so Cognito's failures give the same answers.
      failRefreshes(...SECRET_HASH_REJECTED);
      const misconfigured = await call("echo/items");
      failRefreshes("TooManyRequestsException", "Rate exceeded");
      const throttled = await call("echo/items");
      h.emu.clearFaults();
      await checkError(operationId, misconfigured, "internal_error");
      await checkError(operationId, throttled, "temporarily_unavailable");
      // Cognito back: the upstream's own answer (here 200), relayed with a refreshed token.
      const relayed = await checkResponse(operationId, await call("echo/items?x=1"));
      expect(relayed.status).toBe(200);
      expect(JSON.parse(relayed.text)).toEqual({ method, url: "/items?x=1", bodyBytes: body?.length ?? 0 });
    });
  }

  it("POST /admin/users/{sub}/sessions/revoke answers 200, 400, 401 and 503 as documented", async () => {
    // Not USER: revoking the user every other case signs in as would end their sessions.
    const sub = "0f1e2d3c-4b5a-4968-8776-655443322110";
    const revoke = (bff: Bff, user = sub, authorization = `Bearer ${ADMIN_SECRET}`) =>
      fetch(`${bff.url}/admin/users/${user}/sessions/revoke`, { method: "POST", headers: { authorization } });
    const revoked = await checkResponse("revokeUserSessions", await revoke(h.bff));
    expect(revoked.body).toMatchObject({ sub, scope: "this_replica" });
    await checkError("revokeUserSessions", await revoke(h.bff, "not.a.sub"), "invalid_request");
    const wrongSecret = await checkError("revokeUserSessions", await revoke(h.bff, sub, `Bearer ${ADMIN_SECRET}x`), "unauthenticated");
    expect(wrongSecret.headers.get("www-authenticate")).toBe('Bearer realm="admin"');
    const unshared = await checkError("revokeUserSessions", await revoke(redisDown.bff), "temporarily_unavailable");
    expect(Number(unshared.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("sign-in refuses a query parameter it does not pass to the Hosted UI: 400 as documented", async () => {
    const jar = new CookieJar();
    const { csrfToken } = (await (await jar.fetch(`${url}/auth/csrf`)).json()) as { csrfToken: string };
    const refused = await jar.fetch(`${url}/auth/signin/cognito?redirect_uri=https://evil.example/cb`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, callbackUrl: `${url}/` }),
    });
    await checkError("signIn", refused, "invalid_request");
  });

  it("sign-out answers as documented and ends the session", async () => {
    const jar = await signInChecked();
    const { csrfToken } = (await checkResponse("getCsrfToken", await jar.fetch(`${url}/auth/csrf`))).body as { csrfToken: string };
    await checkResponse(
      "signOut",
      await jar.fetch(`${url}/auth/signout`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrfToken, callbackUrl: `${url}/` }),
      }),
    );
    expect(jar.sessionCookieNames()).toEqual([]);
  });

  it("with SESSION_STORE=redis, sign-out and /auth/session answer 503 while Redis does not", async () => {
    const session = await checkError("getSession", await fetch(`${storeDown.url}/auth/session`, { headers: { cookie: TICKET_COOKIE } }), "temporarily_unavailable");
    expect(Number(session.headers.get("retry-after"))).toBeGreaterThan(0);
    const jar = new CookieJar();
    const { csrfToken } = (await (await jar.fetch(`${storeDown.url}/auth/csrf`)).json()) as { csrfToken: string };
    const [name, value] = TICKET_COOKIE.split("=") as [string, string];
    jar.cookies.set(name, value);
    const signOut = await jar.fetch(`${storeDown.url}/auth/signout`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrfToken, callbackUrl: `${storeDown.url}/` }),
    });
    await checkError("signOut", signOut, "temporarily_unavailable");
  });

  it("GET /auth/sessions and DELETE /auth/sessions/{id} answer 200/204, 401, 403, 404 and 503 as documented", async () => {
    const bff = redisStore.bff.url;
    const laptop = await signIn(bff);
    const phone = await signIn(bff);
    const listed = await checkResponse("listSessions", await laptop.fetch(`${bff}/auth/sessions`, { headers: csrf }));
    const sessions = (listed.body as { sessions: Array<{ id: string; current: boolean }> }).sessions;
    expect(sessions).toHaveLength(2);
    const other = sessions.find((s) => !s.current)!.id;
    await checkResponse("endSession", await laptop.fetch(`${bff}/auth/sessions/${other}`, { method: "DELETE", headers: csrf }));
    expect((await phone.fetch(`${bff}/token`, { headers: csrf })).status).toBe(401);
    for (const [operationId, path, method] of [["listSessions", "/auth/sessions", "GET"], ["endSession", `/auth/sessions/${other}`, "DELETE"]] as const) {
      await checkError(operationId, await fetch(`${bff}${path}`, { method, headers: csrf }), "unauthenticated");
      await checkError(operationId, await laptop.fetch(`${bff}${path}`, { method }), "csrf_required");
      await checkError(operationId, await fetch(`${storeDown.url}${path}`, { method, headers: { ...csrf, cookie: TICKET_COOKIE } }), "temporarily_unavailable");
    }
    await checkError("endSession", await laptop.fetch(`${bff}/auth/sessions/${other}`, { method: "DELETE", headers: csrf }), "not_found");
    // SESSION_STORE=cookie: sessions sealed in cookies cannot be listed.
    await checkError("listSessions", await (await signInChecked()).fetch(`${url}/auth/sessions`, { headers: csrf }), "not_found");
  });

  it("the operations endpoints answer as documented, /readyz 503 when Cognito does not answer", async () => {
    await checkResponse("healthz", await fetch(`${url}/healthz`));
    const ready = await checkResponse("readyz", await fetch(`${url}/readyz`));
    expect(ready.body).toMatchObject({ status: "ready" });
    const notReady = await checkResponse("readyz", await fetch(`${unready.url}/readyz`));
    expect(notReady.body).toMatchObject({ status: "not_ready", checks: { cognito: { status: "down" } } });
    const metrics = await checkResponse("metrics", await fetch(`${url}/metrics`));
    expect(metrics.text).toContain("# TYPE bff_http_request_duration_seconds histogram");
    const openapi = await checkResponse("openapi", await fetch(`${url}/openapi.yaml`));
    expect(openapi.text).toMatch(/^openapi: 3\.1\.0$/m);
    const docs = await checkResponse("docs", await fetch(`${url}/docs`));
    expect(docs.text).toContain('<script src="/docs/swagger-ui-bundle.js"');
  });

  it("a WebSocket upgrade through the relay answers 101 as documented", async () => {
    const server = createServer();
    const wss = new WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const live = await startHarness({ env: { UPSTREAMS: JSON.stringify({ live: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: "user" } }) } });
    try {
      const jar = await signIn(live.bff.url);
      const ws = new WebSocket(`${live.bff.url.replace("http", "ws")}/api/live/x`, { headers: { cookie: jar.header() }, origin: live.bff.url });
      const [answer] = (await once(ws, "upgrade")) as [IncomingMessage];
      ws.terminate();
      // A 101 has no body, and fetch's Response cannot carry a 1xx status: the check reads only these three.
      const headers = new Headers(Object.entries(answer.headers).flatMap(([k, v]) => ([] as string[]).concat(v ?? []).map((one) => [k, one] as [string, string])));
      const checked = await checkResponse("relayGet", { status: answer.statusCode, headers, text: async () => "" } as unknown as Response);
      expect(checked.status).toBe(101);
    } finally {
      await live.close();
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("an answer the spec does not document fails the check", async () => {
    // /token/refresh documents no 400: a 400 must be rejected, not recorded.
    const response = new Response(JSON.stringify({ error: "invalid_request", error_description: "x" }), {
      status: 400,
      headers: { "content-type": "application/json" },
    });
    await expect(checkResponse("refreshToken", response)).rejects.toThrow("refreshToken 400: status not documented");
    const wrongBody = new Response(JSON.stringify({ status: "fine" }), { status: 200, headers: { "content-type": "application/json", "x-request-id": "abc" } });
    await expect(checkResponse("healthz", wrongBody)).rejects.toThrow(/healthz 200: (required header Cache-Control missing|body does not match)/);
  });

  it("covers every (operation, status) that openapi.yaml documents", () => {
    const uncovered = documentedPairs().filter((pair) => !coveredPairs().includes(pair));
    expect(uncovered).toEqual([]);
  });
});
