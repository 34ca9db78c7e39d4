/**
 * Which headers cross the relay, in each direction. Pure functions over
 * header records, so the rules are unit-tested without a server.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1 (Connection, hop-by-hop fields)
 * @see https://www.rfc-editor.org/rfc/rfc7239 (Forwarded) and the de-facto X-Forwarded-* fields
 */
import type { IncomingHttpHeaders } from "node:http";
import { computeSecurityHeaders } from "../http/security-headers.js";
import { injectActiveTraceContext } from "../tracing.js";
import { isTargetedCacheField, privateCacheControl, varyWithCookie, type CacheAudience } from "./cache-control.js";

/** Hop-by-hop fields (RFC 9110 7.6.1 and the classic list), never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
]);

/**
 * Request fields the relay sets itself or must not pass on: the upstream's
 * Host comes from its URL; the client's Authorization is replaced (or
 * dropped); `X-CSRF` is the BFF's own browser rule; `Expect` is answered by
 * the BFF. Forwarding fields (this set and every `X-Forwarded-*`) are
 * rebuilt or dropped, so a client cannot claim an address, host or URL:
 * Tomcat, Spring, IIS and nginx setups trust `X-Real-IP`, `X-Original-URL`
 * and `X-Rewrite-URL` from the hop before them, which is the BFF.
 */
const REQUEST_DROPPED = new Set([
  "host",
  "authorization",
  "x-csrf",
  "x-request-id",
  "expect",
  "cookie",
  "forwarded",
  "x-real-ip",
  "x-original-url",
  "x-original-uri",
  "x-original-host",
  "x-rewrite-url",
  "x-host",
  "x-client-ip",
  "client-ip",
  "true-client-ip",
  "cf-connecting-ip",
  "fastly-client-ip",
  "x-cluster-client-ip",
  "x-originating-ip",
  "x-remote-ip",
  "x-remote-addr",
]);

/**
 * Response fields the BFF owns: its request id, cookies (an upstream's
 * `Set-Cookie` passes only when configured), `Clear-Site-Data` (an upstream
 * must not wipe the BFF's cookies and storage), and the security headers it
 * sets on every answer (computed from the same helmet configuration, HSTS
 * included: whether a browser must insist on https is the BFF's call).
 * `Access-Control-*` is dropped too: the browser guard answers CORS for the
 * BFF's origin rules.
 */
const RESPONSE_DROPPED = new Set([
  "x-request-id",
  "set-cookie",
  "clear-site-data",
  ...computeSecurityHeaders({ https: true }).map(([name]) => name),
]);

/**
 * The BFF's own cookies: Auth.js's session, CSRF, callback, PKCE, state and
 * nonce cookies and the session's chunks, under any prefix. Case-insensitive:
 * browsers compare the `__Secure-`/`__Host-` prefixes without case, and an
 * upstream cookie differing from ours only in case is not one to let through.
 */
const OWN_COOKIE_NAME = /^(?:__secure-|__host-)*authjs\./i;

const NO_TOKENS: ReadonlySet<string> = new Set();

/** The usual `Connection` values, read once: `keep-alive` is hop-by-hop anyway; `close` still names a field to drop. */
// Stryker disable next-line ArrayDeclaration: a cache of the loop's answer; without it the loop finds the same tokens.
const COMMON_CONNECTION: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  // Stryker disable next-line StringLiteral: a key that misses falls through to the loop, which finds the same tokens.
  ["keep-alive", NO_TOKENS],
  // Stryker disable next-line StringLiteral: as above (the Set's "close" is still checked by ArrayDeclaration's mutant).
  ["close", new Set(["close"])],
]);

/** Names listed in `Connection` are hop-by-hop too (RFC 9110 7.6.1). */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> {
  // Stryker disable next-line ConditionalExpression: a shortcut; the loop below finds no token in undefined either.
  if (value === undefined) return NO_TOKENS;
  // A shortcut for the per-request common case: the loop below finds the same tokens (a Set per call, on the hot path).
  const common = typeof value === "string" ? COMMON_CONNECTION.get(value) : undefined;
  if (common) return common;
  const tokens = new Set<string>();
  // Stryker disable next-line ArrayDeclaration: value is never undefined here (returned above).
  for (const part of ([] as string[]).concat(value ?? [])) {
    for (const token of part.split(",")) {
      const name = token.trim().toLowerCase();
      // Stryker disable next-line ConditionalExpression: no header has an empty name, so an empty token drops nothing.
      if (name) tokens.add(name);
    }
  }
  return tokens;
}

/** The Cookie header without the BFF's own cookies; undefined when nothing is left. */
export function stripOwnCookies(header: string | undefined): string | undefined {
  if (!header) return undefined;
  // Split raw rather than parsed: the other cookies reach the upstream byte for byte, not decoded.
  const kept = header
    .split(";")
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "" && !OWN_COOKIE_NAME.test(pair));
  return kept.length > 0 ? kept.join("; ") : undefined;
}

/** A field the relay sets itself or drops: the ones listed, and every client-supplied `X-Forwarded-*` (`-Port`, `-Prefix`, `-Server`, ...). */
function isRequestDropped(name: string): boolean {
  return name.startsWith("x-forwarded-") || REQUEST_DROPPED.has(name);
}

export interface ForwardedFor {
  /** Addresses Express trusts from X-Forwarded-For (`req.ips`, client first; empty with `trust proxy` off). */
  trustedChain: readonly string[];
  /** The address of the peer that connected to the BFF. */
  peerAddress: string | undefined;
  /** The scheme of `PUBLIC_URL` (`https`), never the request's. */
  proto: string;
  /** The host (and port) of `PUBLIC_URL`, never the request's `Host`. */
  host: string | undefined;
}

/**
 * Headers for the upstream request: the client's end-to-end headers minus
 * hop-by-hop, BFF-owned and forwarding ones, the BFF's cookies removed,
 * `Authorization` set to `bearer` when given, and `X-Forwarded-For`/`-Proto`/
 * `-Host` set by the BFF alone. With tracing on, `traceparent`/`tracestate`
 * are the active BFF span's (the caller's trace continued), not the client's.
 * @see https://expressjs.com/en/guide/behind-proxies.html (`req.ips` under `trust proxy`)
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  options: { bearer: string | undefined; forwarded: ForwardedFor; requestId: string | undefined; forwardCookies: boolean },
): Record<string, string | string[]> {
  const dropped = connectionTokens(incoming.connection);
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || HOP_BY_HOP.has(name) || isRequestDropped(name) || dropped.has(name)) continue;
    headers[name] = value;
  }
  if (options.forwardCookies) {
    const cookie = stripOwnCookies(incoming.cookie);
    if (cookie) headers.cookie = cookie;
  }
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  const { trustedChain, peerAddress, proto, host } = options.forwarded;
  let chain = trustedChain.join(", ");
  if (peerAddress) chain = chain ? `${chain}, ${peerAddress}` : peerAddress;
  if (chain) headers["x-forwarded-for"] = chain;
  headers["x-forwarded-proto"] = proto;
  if (host) headers["x-forwarded-host"] = host;
  if (options.requestId) headers["x-request-id"] = options.requestId;
  // Tracing on: the BFF's active span becomes the upstream's parent (the HTTP relay then names its own CLIENT span).
  // Off, or outside any BFF span: the client's traceparent/tracestate pass unchanged, like any end-to-end field.
  injectActiveTraceContext(headers);
  return headers;
}

/**
 * The name of the cookie a `Set-Cookie` line sets, as a browser reads it
 * (RFC 6265bis 5.6: the name is before the first `=` of the part before the
 * first `;`, trimmed; no `=` at all means an empty name).
 * @see https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-5.6
 */
function setCookieName(line: string): string {
  const pairEnd = line.indexOf(";");
  const equals = line.indexOf("=");
  // Stryker disable next-line EqualityOperator: the "=" and the ";" are never at the same index.
  if (equals === -1 || (pairEnd !== -1 && equals > pairEnd)) return "";
  return line.slice(0, equals).trim();
}

/**
 * Whether an upstream's cookie may reach the browser: never a nameless one
 * (`=authjs.session-token=x` is stored as a cookie the browser then sends as
 * `authjs.session-token=x`), never one named like the BFF's own.
 */
export function isPassableSetCookie(line: string): boolean {
  const name = setCookieName(line);
  return name !== "" && !OWN_COOKIE_NAME.test(name);
}

export interface AnswerContext {
  /** Who the answer is for (see {@link CacheAudience}). */
  audience: CacheAudience;
  /** The BFF set a cookie on this answer (the re-issued session): no cache may keep it. */
  sessionCookieSet: boolean;
}

const SERVICE_ANSWER: AnswerContext = { audience: "service", sessionCookieSet: false };

/**
 * The upstream's response headers to send back: hop-by-hop, BFF-owned and
 * CORS fields removed, `Set-Cookie` only when the upstream is configured to
 * pass it (`passSetCookie`), and never a nameless one or one that would
 * overwrite a BFF cookie. Caching follows `context`: an answer carrying the
 * BFF's cookie is `no-store`; one for a signed-in user, or carrying the
 * upstream's cookie, is `private` (CDN-targeted cache fields dropped); one
 * that depends on the Cookie header says so in `Vary`.
 */
export function downstreamResponseHeaders(
  incoming: Record<string, string | string[] | undefined>,
  passSetCookie: boolean,
  context: AnswerContext = SERVICE_ANSWER,
): Record<string, string | string[]> {
  const dropped = connectionTokens(incoming.connection);
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || RESPONSE_DROPPED.has(lower) || dropped.has(lower) || lower.startsWith("access-control-")) continue;
    headers[lower] = value;
  }
  let upstreamCookie = false;
  if (passSetCookie && incoming["set-cookie"] !== undefined) {
    const cookies = ([] as string[]).concat(incoming["set-cookie"]).filter(isPassableSetCookie);
    if (cookies.length > 0) headers["set-cookie"] = cookies;
    upstreamCookie = cookies.length > 0;
  }
  if (context.sessionCookieSet || context.audience === "user" || upstreamCookie) {
    headers["cache-control"] = context.sessionCookieSet ? "no-store" : privateCacheControl(headers["cache-control"]);
    for (const name in headers) if (isTargetedCacheField(name)) delete headers[name];
  }
  if (context.audience !== "service") headers.vary = varyWithCookie(headers.vary);
  return headers;
}
