/**
 * The odd requests the fast lane (src/http/fast-lane.ts) must answer exactly as
 * Express's router did, and how an answer is observed: sent with the request
 * target byte for byte (`//token`, `/%74oken`, `http://host/token`, `*`), and
 * reduced to what a client or an operator can see (status, the headers that
 * carry meaning, the body, the request's log line and metric, what reached the
 * upstream). fast-lane-answers.json holds what Express's router answered
 * before the fast lane existed, recorded with these cases (after an intended
 * change of an answer, record them again: observeAll() on a harness started
 * with `fastLane: false`, one JSON line per case).
 */
import { request as httpRequest } from "node:http";
import type { Harness } from "../helpers/harness.js";
import type { Upstream } from "../helpers/upstream.js";

export interface FastLaneCase {
  name: string;
  method: string;
  /** The request target as sent. */
  target: string;
  /** Extra headers; the session cookie and `X-CSRF: 1` are sent unless `anonymous` / `noCsrf`. */
  headers?: Record<string, string>;
  anonymous?: boolean;
  noCsrf?: boolean;
  body?: string;
}

/** Where the upstream `up` (token `user`) and `getonly` (methods GET) are configured in the tests. */
export const CASES: readonly FastLaneCase[] = [
  { name: "GET /token", method: "GET", target: "/token" },
  { name: "GET /token/ (trailing slash)", method: "GET", target: "/token/" },
  { name: "GET /token// (two trailing slashes)", method: "GET", target: "/token//" },
  { name: "GET /TOKEN (upper case)", method: "GET", target: "/TOKEN" },
  { name: "GET /Token/Refresh (mixed case)", method: "GET", target: "/Token/Refresh" },
  { name: "GET /token?x (bare query)", method: "GET", target: "/token?x" },
  { name: "GET /token? (empty query)", method: "GET", target: "/token?" },
  { name: "GET /token?min_ttl=60", method: "GET", target: "/token?min_ttl=60" },
  { name: "GET /token?min_ttl=abc", method: "GET", target: "/token?min_ttl=abc" },
  { name: "GET /token?min_ttl=1&min_ttl=2 (repeated)", method: "GET", target: "/token?min_ttl=1&min_ttl=2" },
  { name: "GET /token?min_ttl[a]=1 (bracket name)", method: "GET", target: "/token?min_ttl[a]=1" },
  { name: "GET /token?min_ttl=%36%30 (encoded value)", method: "GET", target: "/token?min_ttl=%36%30" },
  { name: "GET /token?min_ttl=99999", method: "GET", target: "/token?min_ttl=99999" },
  { name: "GET /token#frag", method: "GET", target: "/token#frag" },
  { name: "GET //token", method: "GET", target: "//token" },
  { name: "GET /%74oken (encoded letter)", method: "GET", target: "/%74oken" },
  { name: "GET /token%2F (encoded slash)", method: "GET", target: "/token%2F" },
  { name: "GET /token;x (path parameter)", method: "GET", target: "/token;x" },
  { name: "GET /token/x", method: "GET", target: "/token/x" },
  { name: "GET /tokens", method: "GET", target: "/tokens" },
  { name: "GET /token absolute-form", method: "GET", target: "http://bff.example/token" },
  { name: "GET /token absolute-form with query", method: "GET", target: "http://bff.example/token?min_ttl=abc" },
  { name: "HEAD /token", method: "HEAD", target: "/token" },
  { name: "POST /token", method: "POST", target: "/token", body: "" },
  { name: "PUT /token", method: "PUT", target: "/token", body: "{}", headers: { "content-type": "application/json" } },
  { name: "DELETE /token", method: "DELETE", target: "/token" },
  { name: "PATCH /token/", method: "PATCH", target: "/token/" },
  { name: "OPTIONS /token without Origin", method: "OPTIONS", target: "/token" },
  // Node's client sends a DELETE's body without framing: the server reads it as the next request (400 after this answer).
  { name: "DELETE /token with an unframed body", method: "DELETE", target: "/token", body: "aaaaaaaaaa", headers: { "content-type": "application/json" } },
  { name: "DELETE /token?a with an unframed body", method: "DELETE", target: "/token?a", body: "aaaaaaaaaa" },
  { name: "OPTIONS /token without Origin or X-CSRF", method: "OPTIONS", target: "/token", noCsrf: true },
  {
    name: "OPTIONS /token preflight from an allowed origin",
    method: "OPTIONS",
    target: "/token",
    noCsrf: true,
    anonymous: true,
    headers: { origin: "https://spa.example", "access-control-request-method": "GET", "access-control-request-headers": "x-csrf" },
  },
  {
    name: "OPTIONS /token/refresh preflight from an allowed origin",
    method: "OPTIONS",
    target: "/token/refresh",
    noCsrf: true,
    anonymous: true,
    headers: { origin: "https://spa.example", "access-control-request-method": "POST" },
  },
  {
    name: "OPTIONS /token preflight from another origin",
    method: "OPTIONS",
    target: "/token",
    noCsrf: true,
    anonymous: true,
    headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
  },
  { name: "GET /token from an allowed origin", method: "GET", target: "/token", headers: { origin: "https://spa.example" } },
  { name: "GET /token from another origin", method: "GET", target: "/token", headers: { origin: "https://evil.example" } },
  { name: "GET /token from an allowed origin without X-CSRF", method: "GET", target: "/token", noCsrf: true, headers: { origin: "https://spa.example" } },
  { name: "GET /token without X-CSRF", method: "GET", target: "/token", noCsrf: true },
  { name: "GET /token with X-CSRF: 2", method: "GET", target: "/token", noCsrf: true, headers: { "x-csrf": "2" } },
  { name: "GET /token without a session", method: "GET", target: "/token", anonymous: true },
  { name: "GET /token with a forged cookie", method: "GET", target: "/token", anonymous: true, headers: { cookie: "authjs.session-token=forged" } },
  { name: "GET /token with a request id", method: "GET", target: "/token", headers: { "x-request-id": "req-abc.123" } },
  { name: "POST /token/refresh", method: "POST", target: "/token/refresh", body: "" },
  { name: "POST /token/refresh/ (trailing slash)", method: "POST", target: "/token/refresh/" },
  { name: "POST /TOKEN/REFRESH", method: "POST", target: "/TOKEN/REFRESH" },
  { name: "POST /token/refresh?min_ttl=abc", method: "POST", target: "/token/refresh?min_ttl=abc" },
  { name: "GET /token/refresh", method: "GET", target: "/token/refresh" },
  { name: "HEAD /token/refresh", method: "HEAD", target: "/token/refresh" },
  { name: "POST /token/refresh with a JSON body", method: "POST", target: "/token/refresh", body: '{"a":1}', headers: { "content-type": "application/json" } },
  { name: "POST /token/refresh without X-CSRF", method: "POST", target: "/token/refresh", noCsrf: true },
  { name: "GET /api", method: "GET", target: "/api" },
  { name: "GET /api/", method: "GET", target: "/api/" },
  { name: "GET /api/up", method: "GET", target: "/api/up" },
  { name: "GET /api/up/", method: "GET", target: "/api/up/" },
  { name: "GET /api/up/items?x=1", method: "GET", target: "/api/up/items?x=1" },
  { name: "GET /API/up/items (upper case)", method: "GET", target: "/API/up/items" },
  { name: "GET /api/UP/items (upstream name case)", method: "GET", target: "/api/UP/items" },
  { name: "GET //api/up/items", method: "GET", target: "//api/up/items" },
  { name: "GET /api//up/items", method: "GET", target: "/api//up/items" },
  { name: "GET /%61pi/up/items (encoded letter)", method: "GET", target: "/%61pi/up/items" },
  { name: "GET /api/%75p/items (encoded name)", method: "GET", target: "/api/%75p/items" },
  { name: "GET /api/up/%2e%2e/x (encoded dot segment)", method: "GET", target: "/api/up/%2e%2e/x" },
  { name: "GET /api/up/a%2Fb (encoded slash)", method: "GET", target: "/api/up/a%2Fb" },
  { name: "GET /api/up;x/items", method: "GET", target: "/api/up;x/items" },
  { name: "GET /api/nope/items (unknown upstream)", method: "GET", target: "/api/nope/items" },
  { name: "GET /api/__proto__/x", method: "GET", target: "/api/__proto__/x" },
  { name: "GET /api/up/items absolute-form", method: "GET", target: "http://bff.example/api/up/items" },
  { name: "HEAD /api/up/items", method: "HEAD", target: "/api/up/items" },
  { name: "POST /api/up/items with a body", method: "POST", target: "/api/up/items", body: "hello", headers: { "content-type": "text/plain" } },
  { name: "PUT /api/getonly/items (method not allowed)", method: "PUT", target: "/api/getonly/items", body: "" },
  { name: "GET /api/up/items without X-CSRF", method: "GET", target: "/api/up/items", noCsrf: true },
  { name: "GET /api/up/items without a session", method: "GET", target: "/api/up/items", anonymous: true },
  {
    name: "OPTIONS /api/up/items preflight from an allowed origin",
    method: "OPTIONS",
    target: "/api/up/items",
    noCsrf: true,
    anonymous: true,
    headers: { origin: "https://spa.example", "access-control-request-method": "PUT" },
  },
  { name: "OPTIONS /api/up/items without Origin", method: "OPTIONS", target: "/api/up/items" },
  { name: "GET /api/up/items from another origin", method: "GET", target: "/api/up/items", headers: { origin: "https://evil.example" } },
  { name: "GET /api/%ZZ/items (malformed escape in the name)", method: "GET", target: "/api/%ZZ/items" },
  { name: "GET /api/%E0/items (invalid UTF-8 in the name)", method: "GET", target: "/api/%E0/items" },
  { name: "GET /api/up/a%E0 (invalid UTF-8 in the path)", method: "GET", target: "/api/up/a%E0" },
  { name: "GET /api/up/a% (lone percent in the path)", method: "GET", target: "/api/up/a%" },
  { name: "GET /api/up/items#frag", method: "GET", target: "/api/up/items#frag" },
  { name: "GET /api/up/items?a=%ZZ (malformed query)", method: "GET", target: "/api/up/items?a=%ZZ" },
  { name: "GET /api\\up\\items (backslashes)", method: "GET", target: "/api\\up\\items" },
  { name: "GET /api\\up\\items#x (backslashes and a fragment)", method: "GET", target: "/api\\up\\items#x" },
  { name: "GET /token\\#x (backslash and a fragment)", method: "GET", target: "/token\\#x" },
  { name: "GET /token\\ (backslash)", method: "GET", target: "/token\\" },
  { name: "GET /token?min_ttl=%ZZ (malformed query)", method: "GET", target: "/token?min_ttl=%ZZ" },
  { name: "GET /token?a=1&a=2&min_ttl=5 (other parameters)", method: "GET", target: "/token?a=1&a=2&min_ttl=5" },
  { name: "GET /token?MIN_TTL=abc (name case)", method: "GET", target: "/token?MIN_TTL=abc" },
  { name: "GET /token?min_ttl= (empty value)", method: "GET", target: "/token?min_ttl=" },
  { name: "GET /token?min_ttl=+5 (plus sign)", method: "GET", target: "/token?min_ttl=+5" },
  { name: "GET /token/?min_ttl=abc", method: "GET", target: "/token/?min_ttl=abc" },
  { name: "GET http://bff.example (absolute-form, no path)", method: "GET", target: "http://bff.example" },
  { name: "GET http://bff.example//token (absolute-form, two slashes)", method: "GET", target: "http://bff.example//token" },
  { name: "GET HTTP://BFF.EXAMPLE/TOKEN (absolute-form, upper case)", method: "GET", target: "HTTP://BFF.EXAMPLE/TOKEN" },
  { name: "GET /token%20 (encoded space)", method: "GET", target: "/token%20" },
  { name: "GET /token/. (dot segment)", method: "GET", target: "/token/." },
  { name: "GET /./token (leading dot segment)", method: "GET", target: "/./token" },
  { name: "OPTIONS * (asterisk-form)", method: "OPTIONS", target: "*" },
  { name: "GET /healthz (handed to Express)", method: "GET", target: "/healthz" },
  { name: "GET /nothing-here (handed to Express)", method: "GET", target: "/nothing-here" },
];

/** What a client and an operator see of an answer. */
export interface Observed {
  status: number;
  headers: Record<string, string>;
  /** Which of the answer's headers exist, whatever their value (request id, cookies, security headers). */
  present: string[];
  body: string;
  /** The request's log line, without its duration or request id. */
  log: Record<string, unknown> | undefined;
  /** The method and URL that reached the upstream, for relayed calls. */
  upstream?: string | undefined;
  /** The request-duration histogram's series that counted the request (`METHOD route status`). */
  metric: string[];
}

/** Headers whose value is compared. */
const COMPARED = [
  "content-type",
  "content-length",
  "cache-control",
  "pragma",
  "vary",
  "allow",
  "retry-after",
  "access-control-allow-origin",
  "access-control-allow-credentials",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-expose-headers",
  "access-control-max-age",
  "connection",
];
/** Headers whose presence only is compared. */
const PRESENCE = ["x-request-id", "set-cookie", "x-content-type-options", "strict-transport-security", "referrer-policy", "x-frame-options", "etag", "x-powered-by", "date"];

/** The token response's values change with the clock; its shape does not. */
function normalizeBody(body: string): string {
  if (!body.startsWith("{")) return body;
  const parsed = JSON.parse(body) as Record<string, unknown>;
  if (typeof parsed.access_token !== "string") return body;
  return `token response with ${Object.keys(parsed).join(",")}`;
}

/** Sends one case and collects the answer (the response's own end, or the socket's, for a HEAD). */
export function send(base: string, c: FastLaneCase, cookie: string): Promise<Omit<Observed, "log" | "upstream" | "metric">> {
  const headers: Record<string, string> = { ...(c.anonymous ? {} : { cookie }), ...(c.noCsrf ? {} : { "x-csrf": "1" }), ...c.headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/`, { method: c.method, path: c.target, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => {
        const seen: Record<string, string> = {};
        for (const name of COMPARED) {
          const value = res.headers[name];
          if (value !== undefined) seen[name] = String(value);
        }
        // A token answer's length follows the token's; an error's is compared.
        if ((res.statusCode ?? 0) < 300 || c.target.startsWith("/api") || c.target.startsWith("//api")) delete seen["content-length"];
        resolve({
          status: res.statusCode ?? 0,
          headers: seen,
          present: PRESENCE.filter((name) => res.headers[name] !== undefined),
          body: normalizeBody(body),
        });
      });
    });
    req.on("error", reject);
    req.end(c.body);
  });
}

/** The last request line of the log, reduced to what does not change between runs. */
export function lastRequestLine(logs: readonly string[]): Record<string, unknown> | undefined {
  for (let i = logs.length - 1; i >= 0; i--) {
    const line = JSON.parse(logs[i]!) as Record<string, unknown>;
    if (line.msg !== "request" && line.msg !== "request failed") continue;
    const { reqId: _reqId, ms: _ms, time: _time, pid: _pid, hostname: _hostname, ...rest } = line;
    return rest;
  }
  return undefined;
}

/** The request-duration histogram's count per series (`METHOD route status`). */
async function seriesCounts(h: Harness): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const value of (await h.bff.bff.metrics.httpRequests.get()).values) {
    if (!value.metricName?.endsWith("_count")) continue;
    counts.set(`${String(value.labels.method)} ${String(value.labels.route)} ${String(value.labels.status)}`, value.value);
  }
  return counts;
}

/** Sends one case to `h`'s BFF (whose upstreams `up` and `getonly` are `up`) and collects everything it changed. */
export async function observe(h: Harness, up: Upstream, c: FastLaneCase, cookie: string): Promise<Observed> {
  const before = await seriesCounts(h);
  const seenBefore = up.seen.length;
  const answer = await send(h.bff.url, c, cookie);
  // The log line and the metric are written when the answer ends, before the client has read it.
  const after = await seriesCounts(h);
  const metric = [...after].filter(([key, count]) => count !== (before.get(key) ?? 0)).map(([key]) => key);
  const relayed = up.seen.slice(seenBefore).map((s) => `${s.method} ${s.url}`);
  return { ...answer, log: lastRequestLine(h.bff.logs), ...(relayed.length > 0 ? { upstream: relayed.join(" | ") } : {}), metric };
}

/** Every case, one at a time (how fast-lane-answers.json was recorded). */
export async function observeAll(h: Harness, up: Upstream, cookie: string): Promise<Record<string, Observed>> {
  const result: Record<string, Observed> = {};
  for (const c of CASES) result[c.name] = await observe(h, up, c, cookie);
  return result;
}
