/**
 * OpenTelemetry tracing through real HTTP: the emulator, the BFF, an upstream
 * and an OTLP/HTTP receiver started here, spans read back from what the
 * exporter sent.
 */
import { once } from "node:events";
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { CookieJar } from "../helpers/cookie-jar.js";
import { callToken, signIn, startHarness, within, type Harness } from "../helpers/harness.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../helpers/otlp-receiver.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

const CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID = "00f067aa0ba902b7";
const CALLER_TRACEPARENT = `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`;
const API_KEY = "otlp-api-key-must-never-be-logged-0123456789";

let h: Harness | undefined;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await h?.close();
  h = undefined;
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function receiver(options: Parameters<typeof startOtlpReceiver>[0] = {}): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver(options);
  closers.push(r.close);
  return r;
}

async function upstream(): Promise<Upstream> {
  const u = await startUpstream();
  closers.push(u.close);
  return u;
}

/** A BFF exporting to `collector` every 20 ms, with `env` on top. */
async function start(collector: { url: string }, env: Record<string, string> = {}): Promise<Harness> {
  h = await startHarness({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${API_KEY}`,
      OTEL_BSP_SCHEDULE_DELAY: "20",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment.name=test",
      ...env,
    },
  });
  return h;
}

/** Waits until a span matching `match` has been exported, and returns it. */
async function exported(collector: OtlpReceiver, match: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
  await within(5000, async () => collector.spans.some(match));
  return collector.spans.find(match)!;
}

const requestLines = (bff: { logs: string[] }, path: string) =>
  bff.logs.map((line) => JSON.parse(line) as { msg: string; path?: string; trace_id?: string }).filter((l) => l.msg === "request" && l.path === path);

describe("spans of a request", () => {
  it("GET /token with an expired token exports the request span, the refresh span under it, and the Cognito call under that, in one trace", async () => {
    const collector = await receiver();
    await start(collector);
    const jar = await signIn(h!.bff.url);
    h!.emu.clock.advance(3600);
    const res = await callToken(jar, h!.bff.url);
    expect(res.status).toBe(200);

    const server = await exported(collector, (s) => s.name === "GET /token");
    expect(server.kind).toBe(2);
    expect(server.attributes).toMatchObject({ "http.request.method": "GET", "http.route": "/token", "url.path": "/token", "http.response.status_code": 200 });
    expect(server.resource).toMatchObject({ "service.name": "cognito-bff", "deployment.environment.name": "test" });
    const refresh = await exported(collector, (s) => s.name === "refresh tokens" && s.parentSpanId === server.spanId);
    expect(refresh.traceId).toBe(server.traceId);
    expect(refresh.attributes).toMatchObject({ "bff.refresh.via": "performed", "bff.refresh.coordination": "local", "bff.refresh.forced": false });
    const cognito = await exported(collector, (s) => s.name === "CognitoIdentityProvider.InitiateAuth" && s.parentSpanId === refresh.spanId);
    expect(cognito.kind).toBe(3);
    expect(cognito.traceId).toBe(server.traceId);
    expect(cognito.attributes).toMatchObject({ "rpc.method": "InitiateAuth", "bff.cognito.attempt": 1, "bff.cognito.outcome": "ok" });
    // The request's log line carries the trace id.
    expect(requestLines(h!.bff, "/token").at(-1)?.trace_id).toBe(server.traceId);
    // The collector got the configured header.
    expect(collector.requests[0]?.["x-api-key"]).toBe(API_KEY);
  });

  it("a Cognito call that is retried is one span per attempt, the rejected last one marked as an error with its outcome", async () => {
    const collector = await receiver();
    await start(collector);
    const jar = await signIn(h!.bff.url);
    h!.emu.clock.advance(3600);
    h!.emu.fault("InitiateAuth", { error: { code: "InternalErrorException", status: 500 }, times: 1 });
    expect((await callToken(jar, h!.bff.url)).status).toBe(200);
    const second = await exported(collector, (s) => s.name === "CognitoIdentityProvider.InitiateAuth" && s.attributes["bff.cognito.attempt"] === 2);
    const first = await exported(collector, (s) => s.name === "CognitoIdentityProvider.InitiateAuth" && s.attributes["bff.cognito.attempt"] === 1);
    expect(first.attributes).toMatchObject({ "bff.cognito.outcome": "transient", "error.type": "InternalErrorException" });
    expect(first.statusCode).toBe(2);
    expect(second.attributes["bff.cognito.outcome"]).toBe("ok");
    expect(second.parentSpanId).toBe(first.parentSpanId);

    h!.emu.clock.advance(3600);
    h!.emu.fault("InitiateAuth", { error: { code: "NotAuthorizedException", status: 400, message: "Refresh Token has been revoked" }, times: 1 });
    expect((await callToken(jar, h!.bff.url)).status).toBe(401);
    const rejected = await exported(collector, (s) => s.attributes["bff.cognito.outcome"] === "rejected");
    expect(rejected.attributes["error.type"]).toBe("NotAuthorizedException");
    const request = await exported(collector, (s) => s.name === "GET /token" && s.attributes["http.response.status_code"] === 401);
    expect(request.attributes["bff.error.code"]).toBe("session_expired");
  });

  it("a request that waited for another's refresh says so in its refresh span", async () => {
    const collector = await receiver();
    await start(collector);
    const jar = await signIn(h!.bff.url);
    h!.emu.clock.advance(3600);
    h!.emu.fault("InitiateAuth", { delayMs: 200, times: 1 });
    const answers = await Promise.all([callToken(jar, h!.bff.url), callToken(jar, h!.bff.url)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    await exported(collector, (s) => s.attributes["bff.refresh.via"] === "performed");
    await exported(collector, (s) => s.attributes["bff.refresh.via"] === "in_process");
  });

  it("sign-out's RevokeToken call is in the sign-out request's trace, also when the form arrives after the headers", async () => {
    const collector = await receiver();
    await start(collector);
    const jar = await signIn(h!.bff.url);
    const { csrfToken } = (await (await jar.fetch(`${h!.bff.url}/auth/csrf`)).json()) as { csrfToken: string };
    // The form is parsed in the socket's callbacks: a body that comes later is read outside the request's own context.
    const status = await new Promise<number>((resolve, reject) => {
      const body = new URLSearchParams({ csrfToken, callbackUrl: `${h!.bff.url}/` }).toString();
      const req = httpRequest(`${h!.bff.url}/auth/signout`, {
        method: "POST",
        headers: { cookie: jar.header(), "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.flushHeaders();
      setTimeout(() => req.end(body), 100);
    });
    expect(status).toBe(302);
    const signOutSpan = await exported(collector, (s) => s.kind === 2 && s.attributes["url.path"] === "/auth/signout");
    expect(signOutSpan.name).toBe("POST /auth");
    const revoke = await exported(collector, (s) => s.name === "CognitoIdentityProvider.RevokeToken");
    expect(revoke.traceId).toBe(signOutSpan.traceId);
  });

  it("a 5xx answer is an error span named by its route", async () => {
    const collector = await receiver();
    await start(collector);
    const jar = await signIn(h!.bff.url);
    h!.emu.clock.advance(3600);
    h!.emu.fault("InitiateAuth", { error: { code: "InternalErrorException", status: 500 }, times: 10 });
    expect((await callToken(jar, h!.bff.url)).status).toBe(503);
    const span = await exported(collector, (s) => s.name === "GET /token" && s.attributes["http.response.status_code"] === 503);
    expect(span.statusCode).toBe(2);
    expect(span.attributes["error.type"]).toBe("503");
  });
});

describe("trace context", () => {
  it("a caller's traceparent is continued: same trace id, the caller's span as the parent, its tracestate kept", async () => {
    const collector = await receiver();
    await start(collector);
    const jar = await signIn(h!.bff.url);
    await callToken(jar, h!.bff.url, "/token", { headers: { traceparent: CALLER_TRACEPARENT, tracestate: "vendor=abc" } });
    const server = await exported(collector, (s) => s.name === "GET /token");
    expect(server.traceId).toBe(CALLER_TRACE_ID);
    expect(server.parentSpanId).toBe(CALLER_SPAN_ID);
    expect(requestLines(h!.bff, "/token").at(-1)?.trace_id).toBe(CALLER_TRACE_ID);
  });

  it("a malformed or duplicated traceparent starts a new trace instead", async () => {
    const collector = await receiver();
    await start(collector);
    const jar = await signIn(h!.bff.url);
    await callToken(jar, h!.bff.url, "/token?attempt=1", { headers: { traceparent: "00-not-a-trace-01" } });
    const res = await fetch(`${h!.bff.url}/token?attempt=2`, {
      headers: [
        ["cookie", jar.header()],
        ["x-csrf", "1"],
        ["traceparent", CALLER_TRACEPARENT],
        ["traceparent", `00-${"1".repeat(32)}-${"2".repeat(16)}-01`],
      ],
    });
    expect(res.status).toBe(200);
    await within(5000, async () => collector.spans.filter((s) => s.name === "GET /token").length >= 2);
    for (const span of collector.spans.filter((s) => s.name === "GET /token")) {
      expect(span.parentSpanId).toBeUndefined();
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.traceId).not.toBe(CALLER_TRACE_ID);
    }
  });

  it("through the relay, the upstream gets a traceparent with the caller's trace id whose parent is the relay's CLIENT span", async () => {
    const collector = await receiver();
    const orders = await upstream();
    await start(collector, { UPSTREAMS: JSON.stringify({ orders: { url: orders.url, token: "user" } }) });
    const jar = await signIn(h!.bff.url);
    const res = await callToken(jar, h!.bff.url, "/api/orders/items/42?secret=query-value", { headers: { traceparent: CALLER_TRACEPARENT, tracestate: "vendor=abc" } });
    expect(res.status).toBe(200);

    const [, traceId, parentId, flags] = String(orders.seen[0]?.headers.traceparent).split("-");
    expect(traceId).toBe(CALLER_TRACE_ID);
    expect(flags).toBe("01");
    expect(orders.seen[0]?.headers.tracestate).toBe("vendor=abc");
    const relaySpan = await exported(collector, (s) => s.spanId === parentId);
    expect(relaySpan).toMatchObject({ name: "GET orders", kind: 3, traceId: CALLER_TRACE_ID });
    expect(relaySpan.attributes).toMatchObject({ "bff.upstream": "orders", "http.request.method": "GET", "http.response.status_code": 200 });
    const server = await exported(collector, (s) => s.spanId === relaySpan.parentSpanId);
    expect(server.name).toBe("GET /api/{upstream}");
    expect(server.attributes).toMatchObject({ "http.route": "/api/{upstream}", "url.path": "/api/orders/items/42" });
    expect(server.parentSpanId).toBe(CALLER_SPAN_ID);
  });

  it("through the WebSocket relay, the upstream's handshake carries a traceparent with the caller's trace id whose parent is the request span", async () => {
    const collector = await receiver();
    const server = createServer((_req, res) => res.writeHead(426).end());
    const wss = new WebSocketServer({ server });
    const handshakes: IncomingHttpHeaders[] = [];
    wss.on("connection", (_ws, req) => handshakes.push(req.headers));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(async () => {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });
    await start(collector, { UPSTREAMS: JSON.stringify({ chat: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: "user" } }) });
    const jar = await signIn(h!.bff.url);
    const ws = new WebSocket(`${h!.bff.url.replace(/^http/, "ws")}/api/chat/room`, { headers: { cookie: jar.header(), traceparent: CALLER_TRACEPARENT }, origin: h!.bff.url });
    await once(ws, "open");

    const [, traceId, parentId] = String(handshakes[0]?.traceparent).split("-");
    expect(traceId).toBe(CALLER_TRACE_ID);
    const request = await exported(collector, (s) => s.spanId === parentId);
    expect(request).toMatchObject({ name: "GET /api/{upstream}", kind: 2, parentSpanId: CALLER_SPAN_ID });
    // The relayed connection holds the BFF's server open until one side closes it.
    ws.terminate();
    for (const client of wss.clients) client.terminate();
  });

  it("an upstream that does not answer ends the relay span as an error (504)", async () => {
    const collector = await receiver();
    const slow = await upstream();
    slow.handle(() => new Promise(() => {}));
    await start(collector, { UPSTREAMS: JSON.stringify({ slow: { url: slow.url, token: "user", timeoutMs: 200 } }) });
    const jar = await signIn(h!.bff.url);
    expect((await callToken(jar, h!.bff.url, "/api/slow/x")).status).toBe(504);
    const relaySpan = await exported(collector, (s) => s.name === "GET slow");
    expect(relaySpan.statusCode).toBe(2);
    expect(relaySpan.attributes["error.type"]).toBe("gateway_timeout");
  });
});

describe("what is never recorded", () => {
  it("no span attribute holds a token, a cookie, the sign-in's code or state, or a query string", async () => {
    const collector = await receiver();
    const orders = await upstream();
    await start(collector, { UPSTREAMS: JSON.stringify({ orders: { url: orders.url, token: "user" } }) });
    const jar = new CookieJar();
    const codes: string[] = [];
    // The callback's own URL carries the authorization code and state: capture them to look for them.
    const realFetch = jar.fetch.bind(jar);
    jar.fetch = (url: string, init?: RequestInit) => {
      const target = new URL(url);
      if (target.pathname.endsWith("/auth/callback/cognito")) codes.push(...target.searchParams.values());
      return realFetch(url, init);
    };
    await signIn(h!.bff.url, undefined, jar);
    expect(codes.length).toBeGreaterThanOrEqual(2);
    h!.emu.clock.advance(3600);
    const token = (await (await callToken(jar, h!.bff.url, "/token?min_ttl=60")).json()) as { access_token: string };
    await callToken(jar, h!.bff.url, "/api/orders/items?api_key=query-secret-value");
    await callToken(jar, h!.bff.url, "/auth/session");
    await exported(collector, (s) => s.name === "GET orders");
    await exported(collector, (s) => s.attributes["url.path"] === "/auth/session");

    const secrets = [token.access_token, ...jar.header().split(/;\s*/).map((pair) => pair.slice(pair.indexOf("=") + 1)), ...codes, "query-secret-value"];
    expect(collector.spans.length).toBeGreaterThan(5);
    for (const span of collector.spans) {
      for (const [key, value] of Object.entries(span.attributes)) {
        const text = String(value);
        expect(text, key).not.toContain("?");
        expect(text, key).not.toMatch(/eyJ/);
        for (const secret of secrets) expect(text, key).not.toContain(secret);
      }
    }
    expect(collector.spans.some((s) => s.attributes["url.path"] === "/auth/callback/cognito")).toBe(true);
    expect(h!.bff.logs.join("\n")).not.toContain(API_KEY);
  });

  it("the start-up line names the collector without the URL's credentials or query", async () => {
    const collector = await receiver();
    const withSecrets = collector.url.replace("//", "//tenant:url-password-secret@");
    await start(collector, { OTEL_EXPORTER_OTLP_ENDPOINT: "", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${withSecrets}/v1/traces?api-key=url-query-secret` });
    const jar = await signIn(h!.bff.url);
    await callToken(jar, h!.bff.url);
    await exported(collector, (s) => s.name === "GET /token");
    const line = h!.bff.logs.find((l) => l.includes("tracing on"));
    expect(JSON.parse(line!)).toMatchObject({ url: `${collector.url}/v1/traces` });
    expect(h!.bff.logs.join("\n")).not.toMatch(/url-password-secret|url-query-secret/);
  });
});

describe("tracing off", () => {
  it("with OTEL_SDK_DISABLED=true nothing reaches the collector, log lines carry no trace id, and the upstream gets the client's traceparent unchanged", async () => {
    const collector = await receiver();
    const orders = await upstream();
    await start(collector, { OTEL_SDK_DISABLED: "true", UPSTREAMS: JSON.stringify({ orders: { url: orders.url, token: "user" } }) });
    const jar = await signIn(h!.bff.url);
    h!.emu.clock.advance(3600);
    expect((await callToken(jar, h!.bff.url)).status).toBe(200);
    const res = await callToken(jar, h!.bff.url, "/api/orders/x", { headers: { traceparent: CALLER_TRACEPARENT, tracestate: "vendor=abc" } });
    expect(res.status).toBe(200);
    expect(orders.seen[0]?.headers.traceparent).toBe(CALLER_TRACEPARENT);
    expect(orders.seen[0]?.headers.tracestate).toBe("vendor=abc");
    expect(requestLines(h!.bff, "/token").at(-1)).not.toHaveProperty("trace_id");
    await h!.close();
    h = undefined;
    expect(collector.requests).toHaveLength(0);
  });
});

describe("a collector that fails", () => {
  it("a collector that never answers slows no request, its failures are logged once (without the headers), and shutdown completes", async () => {
    const collector = await receiver({ hold: true });
    await start(collector, { OTEL_BSP_SCHEDULE_DELAY: "10", OTEL_EXPORTER_OTLP_TIMEOUT: "200" });
    const jar = await signIn(h!.bff.url);
    // Requests keep coming (and spans with them) until several exports have failed.
    await within(15_000, async () => {
      expect((await callToken(jar, h!.bff.url)).status).toBe(200);
      return collector.requests.length >= 3 && h!.bff.logs.some((l) => l.includes("trace export failed"));
    });
    const failures = h!.bff.logs.filter((l) => l.includes("trace export failed"));
    expect(failures).toHaveLength(1);
    expect(JSON.parse(failures[0]!)).toMatchObject({ level: 40, lostSpans: expect.any(Number) });
    expect(h!.bff.logs.join("\n")).not.toContain(API_KEY);
    await h!.close();
    h = undefined;
  });

  it("shutdown does not wait for a collector that never answers past its deadline, even with a long export timeout", async () => {
    const collector = await receiver({ hold: true });
    // Without the shutdown deadline (5 s), the last export would hold the shutdown for a minute: past this test's timeout.
    await start(collector, { OTEL_BSP_SCHEDULE_DELAY: "60000", OTEL_EXPORTER_OTLP_TIMEOUT: "60000" });
    const jar = await signIn(h!.bff.url);
    expect((await callToken(jar, h!.bff.url)).status).toBe(200);
    await h!.close();
    h = undefined;
    expect(collector.requests.length).toBeGreaterThan(0);
  });

  it("a collector that refuses connections slows no request, the failure is logged with its code, and shutdown completes", async () => {
    const gone = await receiver();
    await gone.close();
    await start(gone, { OTEL_BSP_SCHEDULE_DELAY: "10", OTEL_EXPORTER_OTLP_TIMEOUT: "300" });
    const jar = await signIn(h!.bff.url);
    for (let i = 0; i < 10; i++) expect((await callToken(jar, h!.bff.url)).status).toBe(200);
    await within(5000, async () => h!.bff.logs.some((l) => l.includes("trace export failed")));
    expect(JSON.parse(h!.bff.logs.find((l) => l.includes("trace export failed"))!)).toMatchObject({ error: { code: "ECONNREFUSED" } });
    await h!.close();
    h = undefined;
  });
});
