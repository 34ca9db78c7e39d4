/**
 * The token relay `/api/{upstream}/*` through real HTTP: the emulator, the BFF
 * and upstream servers started here.
 */
import { request as httpRequest } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import type { AddressInfo } from "node:net";
import { decodeJwt } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { checkResponse } from "../contract/openapi-contract.js";
import { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, signIn, startHarness, USER, type Harness } from "../helpers/harness.js";
import { drain, startUpstream, type Upstream } from "../helpers/upstream.js";

let h: Harness | undefined;
const upstreams: Upstream[] = [];
const tcpServers: TcpServer[] = [];

afterEach(async () => {
  await h?.close();
  h = undefined;
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
  await Promise.all(tcpServers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function upstream(...args: Parameters<typeof startUpstream>): Promise<Upstream> {
  const u = await startUpstream(...args);
  upstreams.push(u);
  return u;
}

async function start(routes: Record<string, unknown>, options: Parameters<typeof startHarness>[0] = {}): Promise<Harness> {
  h = await startHarness({ ...options, env: { UPSTREAMS: JSON.stringify(routes), ...options.env } });
  return h;
}

/** A GET with the path exactly as given (no URL normalization). */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/`, { path, headers: { "x-csrf": "1" } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject).end();
  });
}

const api = (jar: CookieJar, path: string, init: RequestInit = {}) => callToken(jar, h!.bff.url, path, init);

/** The BFF's request log lines for one path. */
const requestLines = (path: string) =>
  h!.bff.logs.map((line) => JSON.parse(line) as { msg: string; path?: string }).filter((line) => line.msg === "request" && line.path === path);

describe("failures before the upstream is called", () => {
  it("user mode without a session is 401 unauthenticated and the upstream is not called", async () => {
    const orders = await upstream();
    await start({ orders: { url: orders.url, token: "user" } });
    const res = await fetch(`${h!.bff.url}/api/orders/items`, { headers: { "X-CSRF": "1" } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "unauthenticated", error_description: expect.any(String) });
    expect(orders.seen).toHaveLength(0);
  });

  it("without X-CSRF it is 403 csrf_required, from a foreign Origin 403 origin_not_allowed; the upstream is not called", async () => {
    const orders = await upstream();
    await start({ orders: { url: orders.url, token: "user-or-none" } });
    const jar = await signIn(h!.bff.url);
    const noCsrf = await jar.fetch(`${h!.bff.url}/api/orders/items`, { method: "POST", body: "x" });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as { error: string }).error).toBe("csrf_required");
    const foreign = await api(jar, "/api/orders/items", { headers: { Origin: "https://evil.example" } });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toBe("origin_not_allowed");
    expect(orders.seen).toHaveLength(0);
  });

  it("an unknown upstream is 404 not_found; a method outside `methods` is 405 with Allow; a .. segment is 400", async () => {
    const orders = await upstream();
    await start({ orders: { url: `${orders.url}/base`, token: "user-or-none", methods: ["GET", "post"] } });
    const jar = new CookieJar();
    const unknown = await api(jar, "/api/payments/x");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe("not_found");
    const del = await api(jar, "/api/orders/x", { method: "DELETE" });
    expect(del.status).toBe(405);
    expect(del.headers.get("allow")).toBe("GET, POST");
    expect(((await del.json()) as { error: string }).error).toBe("method_not_allowed");
    // Sent raw: fetch would normalize the dot segments away before they reach the BFF.
    for (const path of ["/api/orders/a/../../admin", "/api/orders/a/%2e%2e/admin", "/api/orders/..%2f..%2fadmin", "/api/orders/a/.%2E\\x"]) {
      const res = await rawGet(h!.bff.url, path);
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body).error).toBe("invalid_request");
    }
    expect(orders.seen).toHaveLength(0);
  });
});

describe("user mode", () => {
  it("the upstream gets the user's access token, never the BFF's cookies, CSRF header or a spoofed X-Forwarded-For", async () => {
    const orders = await upstream();
    await start({ orders: { url: `${orders.url}/v2/`, token: "user" } });
    const jar = await signIn(h!.bff.url);
    const { access_token } = (await (await callToken(jar, h!.bff.url)).json()) as { access_token: string };
    jar.cookies.set("theme", "dark%20blue");

    const res = await api(jar, "/api/orders/items/42?expand=lines&x=%2F", {
      method: "PUT",
      headers: { "content-type": "application/json", "x-forwarded-for": "6.6.6.6", authorization: "Bearer spoofed", "x-custom": "kept" },
      body: JSON.stringify({ qty: 2 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ method: "PUT", url: "/v2/items/42?expand=lines&x=%2F", bodyBytes: 9 });
    const seen = orders.seen[0]!;
    expect(seen.headers.authorization).toBe(`Bearer ${access_token}`);
    expect(seen.headers.cookie).toBe("theme=dark%20blue");
    expect(seen.headers["x-csrf"]).toBeUndefined();
    expect(seen.headers["x-custom"]).toBe("kept");
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    expect(seen.headers["x-forwarded-host"]).toBe(new URL(h!.bff.url).host);
    expect(seen.headers["x-request-id"]).toBe(res.headers.get("x-request-id"));
    expect(JSON.stringify(seen.headers)).not.toContain("authjs");
    // Nothing secret in the BFF's log lines.
    const logs = h!.bff.logs.join("\n");
    expect(logs).not.toContain(access_token);
    expect(logs).not.toContain(jar.cookies.get(jar.sessionCookieNames()[0]!)!);
  });

  it("status, headers and body come back as the upstream sent them; its Set-Cookie only with passSetCookie", async () => {
    const handler = async (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
      for await (const _ of req);
      res.writeHead(201, { "content-type": "text/plain", "x-upstream": "yes", "set-cookie": ["upstream=1; Path=/", "authjs.session-token=forged"], connection: "close" });
      res.end("created");
    };
    const plain = await upstream(handler);
    const cookies = await upstream(handler);
    await start({ plain: { url: plain.url, token: "user" }, cookies: { url: cookies.url, token: "user", passSetCookie: true } });
    const jar = await signIn(h!.bff.url);

    const res = await api(jar, "/api/plain/x", { method: "POST", body: "a" });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-upstream")).toBe("yes");
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(await res.text()).toBe("created");
    expect(res.headers.getSetCookie()).toEqual([]);

    const passed = await api(jar, "/api/cookies/x", { method: "POST", body: "a" });
    expect(passed.headers.getSetCookie()).toEqual(["upstream=1; Path=/"]);
  });

  it("an expired session refreshes once for a burst of calls, the upstream gets the new token, and the cookie is updated", async () => {
    const orders = await upstream();
    await start({ orders: { url: orders.url, token: "user" } });
    const jar = await signIn(h!.bff.url);
    const before = (await (await callToken(jar, h!.bff.url)).json()) as { access_token: string };
    h!.emu.clock.advance(3600);

    const answers = await Promise.all(Array.from({ length: 8 }, () => api(jar.clone(), "/api/orders/x")));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(h!.emu.calls("InitiateAuth")).toBe(1);
    const bearers = new Set(orders.seen.map((s) => s.headers.authorization));
    expect(bearers.size).toBe(1);
    const [bearer] = [...bearers];
    expect(bearer).not.toBe(`Bearer ${before.access_token}`);
    expect(decodeJwt(bearer!.slice(7))).toMatchObject({ username: USER.username });

    jar.store(answers[0]!);
    const after = (await (await callToken(jar, h!.bff.url)).json()) as { access_token: string };
    expect(`Bearer ${after.access_token}`).toBe(bearer);
    expect(h!.emu.calls("InitiateAuth")).toBe(1);
  });

  it("a revoked refresh token gives 401 session_expired, clears the cookies, and the upstream is not called", async () => {
    const orders = await upstream();
    await start({ orders: { url: orders.url, token: "user" } });
    const jar = await signIn(h!.bff.url);
    h!.emu.fault("InitiateAuth", { error: { code: "NotAuthorizedException", message: "Refresh Token has been revoked" } });
    h!.emu.clock.advance(3600);
    const res = await api(jar, "/api/orders/x");
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe("session_expired");
    expect(jar.sessionCookieNames()).toEqual([]);
    expect(orders.seen).toHaveLength(0);
  });
});

describe("user-or-none mode", () => {
  it("forwards without Authorization when there is no session, with the user's token when there is", async () => {
    const pub = await upstream();
    await start({ pub: { url: pub.url, token: "user-or-none" } });
    const anonymous = await api(new CookieJar(), "/api/pub/x");
    expect(anonymous.status).toBe(200);
    expect(pub.seen[0]!.headers.authorization).toBeUndefined();
    const jar = await signIn(h!.bff.url);
    await api(jar, "/api/pub/x");
    expect(pub.seen[1]!.headers.authorization).toMatch(/^Bearer eyJ/);
  });
});

describe("client mode", () => {
  const client = { clientCredentialsScopes: ["reports/read", "reports/write"] };

  it("sends the BFF's client-credentials token for the configured scopes, never the user's cookies or token", async () => {
    const reports = await upstream();
    await start({ reports: { url: reports.url, token: "client", scopes: ["reports/read"] } }, { client });
    const jar = await signIn(h!.bff.url);
    jar.cookies.set("theme", "dark");
    const res = await api(jar, "/api/reports/daily", { headers: { authorization: "Bearer user-supplied" } });
    expect(res.status).toBe(200);
    const seen = reports.seen[0]!;
    expect(seen.headers.cookie).toBeUndefined();
    const claims = decodeJwt(seen.headers.authorization!.replace(/^Bearer /, ""));
    expect(claims).toMatchObject({ client_id: h!.bff.config.cognito.clientId, sub: h!.bff.config.cognito.clientId, scope: "reports/read", token_use: "access" });
    expect(claims.username).toBeUndefined();
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("one Cognito call for many requests (also concurrent ones); a new one once the token nears expiry", async () => {
    const reports = await upstream();
    await start({ reports: { url: reports.url, token: "client", scopes: ["reports/read"] } }, { client, emulator: { accessTokenTtlSeconds: 300 } });
    const anonymous = await signIn(h!.bff.url); // client upstreams serve signed-in sessions on the public port
    const burst = await Promise.all(Array.from({ length: 10 }, () => api(anonymous, "/api/reports/x")));
    expect(burst.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (let i = 0; i < 5; i++) expect((await api(anonymous, "/api/reports/x")).status).toBe(200);
    expect(h!.emu.calls("token:client_credentials")).toBe(1);
    const first = reports.seen[0]!.headers.authorization;
    expect(new Set(reports.seen.map((s) => s.headers.authorization))).toEqual(new Set([first]));

    h!.emu.clock.advance(300 - 30); // inside the renewal margin, before expiry
    await Promise.all(Array.from({ length: 5 }, () => api(anonymous, "/api/reports/x")));
    expect(h!.emu.calls("token:client_credentials")).toBe(2);
    expect(reports.seen.at(-1)!.headers.authorization).not.toBe(first);
  });

  it("Cognito refusing the scope is 500 internal_error; Cognito down is 503 with Retry-After; the upstream is not called", async () => {
    const reports = await upstream();
    await start({ reports: { url: reports.url, token: "client", scopes: ["admin/all"] } }, { client });
    const refused = await api(await signIn(h!.bff.url), "/api/reports/x");
    expect(refused.status).toBe(500);
    expect(((await refused.json()) as { error: string }).error).toBe("internal_error");
    expect(h!.bff.logs.join("\n")).toContain("client_credentials refused by Cognito: invalid_scope");
    h!.emu.clock.advance(1); // past the remembered failure's backoff
    h!.emu.fault("token:client_credentials", { error: { code: "server_error", status: 500 } });
    const down = await api(await signIn(h!.bff.url), "/api/reports/x");
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("5");
    expect(reports.seen).toHaveLength(0);
  });

  it.each([403, 404])("a token endpoint answering %i (a wrong COGNITO_DOMAIN) is 500, and the log names the variable", async (status) => {
    const reports = await upstream();
    await start({ reports: { url: reports.url, token: "client", scopes: ["reports/read"] } }, { client });
    h!.emu.fault("token:client_credentials", { error: { code: "not_found", status }, times: 1 });
    const res = await api(await signIn(h!.bff.url), "/api/reports/x");
    expect(res.status).toBe(500);
    expect(((await res.json()) as { error: string }).error).toBe("internal_error");
    expect(h!.bff.logs.join("\n")).toContain(`client_credentials: HTTP ${status} from the token endpoint; check COGNITO_DOMAIN`);
    expect(reports.seen).toHaveLength(0);
  });

  it("failures are remembered with a doubling backoff: an outage costs one token request per backoff, not one per relayed call", async () => {
    const reports = await upstream();
    await start({ reports: { url: reports.url, token: "client", scopes: ["reports/read"] } }, { client });
    h!.emu.fault("token:client_credentials", { error: { code: "server_error", status: 500 } });
    const anonymous = await signIn(h!.bff.url); // client upstreams serve signed-in sessions on the public port
    const first = await Promise.all(Array.from({ length: 10 }, () => api(anonymous, "/api/reports/x")));
    expect(first.map((r) => r.status)).toEqual(Array(10).fill(503));
    expect(h!.emu.calls("token:client_credentials")).toBe(1);
    // Inside the first backoff (1 s): answered from memory, Retry-After the time left.
    const remembered = await api(anonymous, "/api/reports/x");
    expect(remembered.status).toBe(503);
    expect(remembered.headers.get("retry-after")).toBe("1");
    expect(h!.emu.calls("token:client_credentials")).toBe(1);
    h!.emu.clock.advance(1);
    expect((await api(anonymous, "/api/reports/x")).status).toBe(503);
    expect(h!.emu.calls("token:client_credentials")).toBe(2);
    // The second failure in a row is remembered for 2 s.
    h!.emu.clock.advance(1);
    const doubled = await api(anonymous, "/api/reports/x");
    expect(doubled.headers.get("retry-after")).toBe("1");
    expect(h!.emu.calls("token:client_credentials")).toBe(2);
    h!.emu.clearFaults();
    h!.emu.clock.advance(1);
    expect((await api(anonymous, "/api/reports/x")).status).toBe(200);
    expect(h!.emu.calls("token:client_credentials")).toBe(3);
    expect(reports.seen).toHaveLength(1);
  });
});

describe("upstream failures", () => {
  it("a refused connection is 502 bad_gateway; a malformed answer is 502", async () => {
    const closed = await startUpstream();
    await closed.close();
    const garbage = createTcpServer((socket) => socket.end("NOT HTTP AT ALL\r\n\r\n", () => socket.destroy()));
    tcpServers.push(garbage);
    await new Promise<void>((resolve) => garbage.listen(0, "127.0.0.1", resolve));
    const garbageUrl = `http://127.0.0.1:${(garbage.address() as AddressInfo).port}`;
    await start({ down: { url: closed.url, token: "user-or-none" }, bad: { url: garbageUrl, token: "user-or-none" } });
    for (const name of ["down", "bad"]) {
      const res = await api(new CookieJar(), `/api/${name}/x`);
      expect(res.status, name).toBe(502);
      expect(await res.json()).toEqual({ error: "bad_gateway", error_description: expect.any(String) });
    }
    expect(h!.bff.logs.join("\n")).toMatch(/upstream down: ECONNREFUSED/);
  });

  it("an upstream slower than timeoutMs is 504 gateway_timeout, in about timeoutMs", async () => {
    const slow = await upstream(async (req, res, seen) => {
      await drain(req, seen);
      setTimeout(() => res.end("late"), 3000).unref();
    });
    await start({ slow: { url: slow.url, token: "user-or-none", timeoutMs: 300 } });
    const started = Date.now();
    const res = await api(new CookieJar(), "/api/slow/x");
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ error: "gateway_timeout", error_description: expect.any(String) });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  // Issue 18: `timeoutMs: 1000` answered 504 after about 1500 ms. undici checks its headersTimeout on a
  // clock that ticks every 499 ms (a 1000 ms timeout fires on the third tick), and starts it only once the
  // request is on a connection. The deadline is now the relay's own timer, from the start of the upstream call.
  it("timeoutMs is a deadline for the answer's headers: a slow upstream's 504 comes within timeoutMs + 300 ms, not later", async () => {
    const timeoutMs = 1000;
    const slow = await upstream(async (req, res, seen) => {
      await drain(req, seen);
      setTimeout(() => res.end("late"), 5000).unref();
    });
    await start({ slow: { url: slow.url, token: "user-or-none", timeoutMs } });
    // A first call opens the keep-alive connection; the measured one then waits for the upstream alone.
    expect((await api(new CookieJar(), "/api/slow/warm")).status).toBe(504);
    for (const body of [undefined, "a small request body"]) {
      const started = performance.now();
      const res = await api(new CookieJar(), "/api/slow/x", body === undefined ? {} : { method: "POST", body });
      const took = performance.now() - started;
      expect(res.status).toBe(504);
      expect(await res.json()).toEqual({ error: "gateway_timeout", error_description: expect.any(String) });
      expect(took).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(took).toBeLessThan(timeoutMs + 300);
    }
    expect(h!.bff.logs.join("\n")).toMatch(/upstream slow: deadline/);
  });

  it("an upstream 5xx is passed through as the upstream's own answer", async () => {
    const failing = await upstream((_req, res) => {
      res.writeHead(503, { "content-type": "application/json", "retry-after": "7" });
      res.end('{"message":"orders maintenance"}');
    });
    await start({ failing: { url: failing.url, token: "user-or-none" } });
    const res = await api(new CookieJar(), "/api/failing/x");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(await res.json()).toEqual({ message: "orders maintenance" });
  });

  it("a client that disconnects aborts the upstream call", async () => {
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const hanging = await upstream(() => arrived());
    await start({ hanging: { url: hanging.url, token: "user-or-none" } });
    const controller = new AbortController();
    const pending = api(new CookieJar(), "/api/hanging/x", { signal: controller.signal }).catch((e: unknown) => e);
    await reached;
    controller.abort();
    await pending;
    await expect.poll(() => hanging.seen[0]?.aborted, { timeout: 3000 }).toBe(true);
    // Logged although nothing was answered: 499 (nginx's "client closed request").
    await expect.poll(() => requestLines("/api/hanging/x")).toMatchObject([{ status: 499, code: "client_closed" }]);
  });

  it("a client that disconnects in the middle of the answer's body aborts the upstream call too", async () => {
    // Headers and a first chunk, then the body never ends.
    const trickling = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first chunk");
    });
    await start({ trickling: { url: trickling.url, token: "user-or-none" } });
    const controller = new AbortController();
    const res = await api(new CookieJar(), "/api/trickling/x", { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("first chunk");
    controller.abort();
    await expect.poll(() => trickling.seen[0]?.aborted, { timeout: 3000 }).toBe(true);
    // Logged with the status that was sent, and why it ended there.
    await expect.poll(() => requestLines("/api/trickling/x")).toMatchObject([{ status: 200, code: "client_closed" }]);
  });

  it("an upstream that breaks off in the middle of its body cuts the client's connection, and the line says so", async () => {
    const breaking = await upstream((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "1000" });
      res.write("first chunk", () => setTimeout(() => res.destroy(), 50));
    });
    await start({ breaking: { url: breaking.url, token: "user-or-none" } });
    const res = await api(new CookieJar(), "/api/breaking/x");
    expect(res.status).toBe(200);
    // Less than the announced 1000 bytes, then the connection is cut: the client knows the body is incomplete.
    await expect(res.text()).rejects.toThrow();
    await expect.poll(() => requestLines("/api/breaking/x")).toMatchObject([{ status: 200, code: "upstream_closed" }]);
  });
});

describe("openapi.yaml", () => {
  it("the relay's own error answers match the documented ones", async () => {
    const closed = await startUpstream();
    await closed.close();
    const slow = await upstream(() => undefined);
    await start({
      orders: { url: closed.url, token: "user", methods: ["GET"] },
      slow: { url: slow.url, token: "user-or-none", timeoutMs: 200 },
    });
    const anonymous = new CookieJar();
    await checkResponse("relayGet", await api(anonymous, "/api/orders/x"));
    await checkResponse("relayGet", await fetch(`${h!.bff.url}/api/orders/x`));
    await checkResponse("relayGet", await api(anonymous, "/api/nope/x"));
    await checkResponse("relayDelete", await api(anonymous, "/api/orders/x", { method: "DELETE" }));
    await checkResponse("relayGet", await api(anonymous, "/api/slow/x"));
    const jar = await signIn(h!.bff.url);
    const down = await checkResponse("relayGet", await api(jar, "/api/orders/x"));
    expect(down.status).toBe(502);
    await checkResponse("relayPost", await api(anonymous, "/api/slow/x", { method: "POST", body: "x" }));
  });
});

describe("rewrite", () => {
  it("rewrites the path after /api/<name> under the base path, keeping the query", async () => {
    const orders = await upstream();
    await start({ orders: { url: `${orders.url}/svc`, token: "user-or-none", rewrite: { from: "^/v1/(.*)$", to: "/api/$1" } } });
    const res = await api(new CookieJar(), "/api/orders/v1/items?a=1");
    expect(await res.json()).toMatchObject({ url: "/svc/api/items?a=1" });
    const root = await api(new CookieJar(), "/api/orders");
    expect(await root.json()).toMatchObject({ url: "/svc" });
  });
});
