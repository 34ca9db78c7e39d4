/**
 * Property-based fuzzing of the HTTP surface with fast-check: thousands of
 * hostile requests per run, built from real signed-in cookies (mutated chunk
 * by chunk), odd query strings, methods, content types, bodies, Origins and
 * CSRF headers, sent over real HTTP to a real BFF and emulator.
 */
import { Agent, request } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_TABLE } from "../../src/errors.js";
import { CLIENT_SECRET, signIn, startHarness, TEST_SECRET, type Harness } from "../helpers/harness.js";

const SPA = "https://spa.example";
const OTHER_SECRET = "a-different-auth-secret-0123456789abcdef";
/** Every status the service documents (431 is Node's own answer to oversized headers, before Express). */
const DOCUMENTED = new Set([200, 204, 302, 400, 401, 403, 404, 405, 413, 431]);
const NUM_RUNS = Number(process.env.FUZZ_RUNS ?? 2500);

type Pair = [name: string, value: string];
interface Sent {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: string;
}
interface Answer {
  status: number;
  headers: string;
  body: string;
}

let h: Harness;
let agent: Agent;
let session: Pair[];
let otherSession: Pair[];
let otherSecretSession: Pair[];
let secrets: { accessToken: string; refreshToken: string; idToken: string };

const pairsOf = (cookieHeader: string): Pair[] =>
  cookieHeader
    .split("; ")
    .filter((c) => c.includes("authjs.session-token"))
    .map((c) => [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)]);

beforeAll(async () => {
  h = await startHarness({ env: { ALLOWED_ORIGINS: SPA } });
  agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const jar = await signIn(h.bff.url);
  session = pairsOf(jar.header());
  otherSession = pairsOf((await signIn(h.bff.url)).header());
  const foreign = await h.startBff({ AUTH_SECRET: OTHER_SECRET });
  otherSecretSession = pairsOf((await signIn(foreign.url)).header());
  const s = (await h.bff.bff.sessions.read(jar.header())).session!;
  secrets = { accessToken: s.access_token, refreshToken: s.refresh_token, idToken: s.id_token! };
  expect(session.length).toBeGreaterThan(1);
}, 30_000);

afterAll(async () => {
  agent?.destroy();
  await h?.close();
});

function send({ method, path, headers, body }: Sent, fresh = false): Promise<Answer> {
  const url = new URL(h.bff.url);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: url.hostname, port: url.port, method, path, headers, agent: fresh ? false : agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: JSON.stringify(res.headers), body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    // The server may answer (413, 403) and close before it has read a large body; the answer is what counts.
    req.on("error", (error) => (answered ? undefined : reject(error)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Requests with a body get a connection of their own: the server may answer
 * before reading the body and then close, or reset while the client still
 * writes, which says nothing about the next request. A reused keep-alive
 * socket the server just closed is retried once on a fresh connection.
 */
const sendOnce = (sent: Sent) => (sent.body !== undefined ? send(sent, true) : send(sent).catch(() => send(sent, true)));

// ---- generators -------------------------------------------------------------

const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const junk = (max: number) => fc.array(printable, { maxLength: max }).map((a) => a.join(""));

const mutateValue = (value: string): fc.Arbitrary<string> =>
  fc.oneof(
    // one flipped character
    fc.tuple(fc.nat({ max: value.length - 1 }), printable).map(([i, c]) => value.slice(0, i) + c + value.slice(i + 1)),
    // truncated
    fc.nat({ max: value.length - 1 }).map((n) => value.slice(0, n)),
    // extended
    junk(64).map((extra) => value + extra),
    // oversized (a cookie near the 4 KB browser limit)
    fc.integer({ min: 3000, max: 4100 }).map((n) => value.padEnd(n, "A")),
  );

function cookieArbitrary(): fc.Arbitrary<Pair[]> {
  const names = session.map(([n]) => n);
  const base = names[0]!.replace(/\.0$/, "");
  return fc.oneof(
    fc.constant(session),
    fc.constant([...session].reverse()),
    fc.constant<Pair[]>([]),
    fc.constant(otherSecretSession),
    // one chunk mutated
    fc.nat({ max: session.length - 1 }).chain((i) => mutateValue(session[i]![1]).map((v) => session.map(([n, old], j): Pair => [n, j === i ? v : old]))),
    // chunk numbers swapped (mis-ordered)
    fc.constant(session.map(([, v], j): Pair => [names[session.length - 1 - j]!, v])),
    // a chunk missing
    fc.nat({ max: session.length - 1 }).map((i) => session.filter((_, j) => j !== i)),
    // a chunk duplicated (same name, same or other value)
    fc.tuple(fc.nat({ max: session.length - 1 }), fc.boolean()).map(([i, same]): Pair[] => [...session, [names[i]!, same ? session[i]![1] : otherSession[i]?.[1] ?? "x"]]),
    // chunks from two sessions spliced
    fc.nat({ max: session.length - 1 }).map((i) => session.map((p, j): Pair => (j === i ? [p[0], otherSession[j]?.[1] ?? p[1]] : p))),
    // an extra chunk number
    fc.tuple(fc.constantFrom("2", "3", "00", "01", "-1", "1000", "x", ""), junk(200)).map(([suffix, v]): Pair[] => [...session, [`${base}.${suffix}`, v]]),
    // the joined value under the unchunked name, alone or beside the chunks
    fc.boolean().map((alone): Pair[] => [...(alone ? [] : session), [base, session.map(([, v]) => v).join("")]]),
    // junk
    fc.array(fc.tuple(fc.constantFrom(base, `${base}.0`, `${base}.1`, "__Secure-authjs.session-token", "authjs.csrf-token"), junk(300)), { maxLength: 4 }),
  );
}

const minTtl = fc.oneof(
  fc.constantFrom("-1", "1e99", "0", "60", "86400", "86401", "99999999999999999999", "1.5", "%201", "0x10", "NaN", "", "%00", "abc", "1%2C2"),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  junk(20).map(encodeURIComponent),
);
const query = fc.oneof(
  fc.constant(""),
  minTtl.map((v) => `?min_ttl=${v}`),
  fc.tuple(minTtl, minTtl).map(([a, b]) => `?min_ttl=${a}&min_ttl=${b}`),
  minTtl.map((v) => `?min_ttl[]=${v}`),
  minTtl.map((v) => `?min_ttl[a]=${v}&min_ttl=${v}`),
  junk(200).map((q) => `?${encodeURI(q)}`),
);
const path = fc.tuple(
  fc.constantFrom("/token", "/token", "/token/refresh", "/TOKEN", "/token/", "/auth/session", "/auth/csrf", "/auth/providers", "/auth/unknown", "/healthz", "/nope"),
  query,
).map(([p, q]) => p + q);

const body = fc.oneof(
  fc.constant<[string | undefined, string | undefined]>([undefined, undefined]),
  fc.tuple(fc.constantFrom("application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/json; charset=utf-16"), fc.oneof(junk(200), fc.constantFrom("{}", "{bad", "[1,2]", "a=b&a=c", "csrfToken=x&callbackUrl=https%3A%2F%2Fevil.example"), fc.integer({ min: 100_001, max: 300_000 }).map((n) => "a".repeat(n)))),
);

function requestArbitrary(): fc.Arbitrary<Sent> {
  return fc
    .record({
      method: fc.constantFrom("GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND"),
      path,
      cookies: cookieArbitrary(),
      origin: fc.constantFrom(undefined, h.bff.url, SPA, "https://evil.example", "null", `${h.bff.url}.evil.example`, "http://127.0.0.1"),
      csrf: fc.constantFrom<string | string[] | undefined>(undefined, "1", "0", "true", ["1", "1"]),
      preflight: fc.constantFrom(undefined, "GET", "POST", "DELETE"),
      body,
    })
    .map(({ method, path: p, cookies, origin, csrf, preflight, body: [type, content] }) => {
      const headers: Record<string, string | string[]> = {};
      if (cookies.length > 0) headers.cookie = cookies.map(([n, v]) => `${n}=${v}`).join("; ");
      if (origin) headers.origin = origin;
      if (csrf !== undefined) headers["x-csrf"] = csrf;
      if (preflight && method === "OPTIONS") headers["access-control-request-method"] = preflight;
      const withBody = method !== "GET" && method !== "HEAD" && content !== undefined;
      if (withBody && type) headers["content-type"] = type;
      return { method, path: p, headers, ...(withBody ? { body: content } : {}) };
    });
}

// ---- properties -------------------------------------------------------------

function checkAnswer(sent: Sent, answer: Answer): void {
  const label = `${sent.method} ${sent.path} -> ${answer.status} ${answer.body.slice(0, 120)}`;
  expect(answer.status, label).toBeLessThan(500);
  expect(DOCUMENTED.has(answer.status), label).toBe(true);
  if (answer.status >= 400 && answer.status !== 431 && sent.method !== "HEAD") {
    let parsed: Record<string, unknown> | null = null;
    try {
      parsed = JSON.parse(answer.body) as Record<string, unknown>;
    } catch {
      // asserted below
    }
    expect(parsed, `${label} ${answer.headers}`).toBeTypeOf("object");
    expect(parsed, label).not.toBeNull();
    if (!parsed) return;
    expect(Object.keys(parsed).sort(), label).toEqual(["error", "error_description"]);
    const code = parsed.error as keyof typeof ERROR_TABLE;
    expect(ERROR_TABLE[code]?.status, label).toBe(answer.status);
    expect(typeof parsed.error_description, label).toBe("string");
  }
  const everything = answer.headers + answer.body;
  for (const secret of [secrets.refreshToken, secrets.idToken, TEST_SECRET, OTHER_SECRET, CLIENT_SECRET]) {
    expect(everything.includes(secret), `${label}: a secret or token leaked`).toBe(false);
  }
  // The access token only in the body of a 200 from /token*.
  const mayCarryAccessToken = answer.status === 200 && /^\/token/i.test(sent.path);
  if (!mayCarryAccessToken) expect(everything.includes(secrets.accessToken), `${label}: access token leaked`).toBe(false);
  expect(answer.headers.includes(secrets.accessToken), `${label}: access token in a header`).toBe(false);
  // No request cookie value is echoed back (its tail: every JWE sealed with one key starts with the same header).
  for (const value of String(sent.headers.cookie ?? "").split("; ").map((c) => c.slice(c.indexOf("=") + 1))) {
    if (value.length >= 40) expect(everything.includes(value.slice(-40)), `${label}: cookie value echoed`).toBe(false);
  }
}

describe("fuzzing the HTTP surface", () => {
  it(`${NUM_RUNS} generated hostile requests: never a 5xx, only documented answers in the documented shape, nothing leaked, still serving`, async () => {
    let count = 0;
    await fc.assert(
      fc.asyncProperty(requestArbitrary(), async (sent) => {
        count++;
        checkAnswer(sent, await sendOnce(sent));
      }),
      { numRuns: NUM_RUNS },
    );
    expect(count).toBeGreaterThanOrEqual(NUM_RUNS);

    // Still serving, and the unmutated session still works.
    expect((await sendOnce({ method: "GET", path: "/healthz", headers: {} })).status).toBe(200);
    const legit = await sendOnce({ method: "GET", path: "/token", headers: { cookie: session.map(([n, v]) => `${n}=${v}`).join("; "), "x-csrf": "1" } });
    expect(legit.status).toBe(200);
    const log = h.bff.logs.join("\n");
    for (const secret of [secrets.refreshToken, secrets.accessToken, secrets.idToken, TEST_SECRET, session[0]![1].slice(-40)]) {
      expect(log.includes(secret)).toBe(false);
    }
    expect(h.bff.logs.filter((line) => /"level":(50|60)/.test(line))).toEqual([]);
  }, 60_000);
});
