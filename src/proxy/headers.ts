/**
 * Which headers cross the relay, in each direction. Pure functions over
 * header records, so the rules are unit-tested without a server.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1 (Connection, hop-by-hop fields)
 * @see https://www.rfc-editor.org/rfc/rfc7239 (Forwarded) and the de-facto X-Forwarded-* fields
 */
import type { IncomingHttpHeaders } from "node:http";

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
 * dropped); `X-CSRF` is the BFF's own browser rule; forwarding fields are
 * rebuilt, so a client cannot spoof them; `Expect` is answered by the BFF.
 */
const REQUEST_DROPPED = new Set(["host", "authorization", "x-csrf", "forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-request-id", "expect", "cookie"]);

/**
 * Response fields the BFF owns: its request id, and cookies (an upstream's
 * `Set-Cookie` passes only when configured). `Access-Control-*` is dropped
 * too: the browser guard answers CORS for the BFF's origin rules.
 */
const RESPONSE_DROPPED = new Set(["x-request-id", "set-cookie"]);

/** The BFF's own cookies: Auth.js's session, CSRF, callback, PKCE, state and nonce cookies, any prefix. */
const OWN_COOKIE = /^(?:__Secure-|__Host-)?authjs\./;

/** Names listed in `Connection` are hop-by-hop too (RFC 9110 7.6.1). */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  const tokens = new Set<string>();
  for (const part of ([] as string[]).concat(value ?? [])) {
    for (const token of part.split(",")) {
      const name = token.trim().toLowerCase();
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
    .filter((pair) => pair !== "" && !OWN_COOKIE.test(pair));
  return kept.length > 0 ? kept.join("; ") : undefined;
}

export interface ForwardedFor {
  /** Addresses Express trusts from X-Forwarded-For (`req.ips`, client first). */
  trustedChain: readonly string[];
  /** The address of the peer that connected to the BFF. */
  peerAddress: string | undefined;
  /** `req.protocol` (follows `trust proxy`). */
  proto: string;
  /** `req.host` (follows `trust proxy`). */
  host: string | undefined;
}

/**
 * Headers for the upstream request: the client's end-to-end headers minus
 * hop-by-hop and BFF-owned ones, the BFF's cookies removed, `Authorization`
 * set to `bearer` when given, `X-Forwarded-*` rebuilt from what Express trusts.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  options: { bearer: string | undefined; forwarded: ForwardedFor; requestId: string | undefined; forwardCookies: boolean },
): Record<string, string | string[]> {
  const dropped = connectionTokens(incoming.connection);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || REQUEST_DROPPED.has(name) || dropped.has(name)) continue;
    headers[name] = value;
  }
  if (options.forwardCookies) {
    const cookie = stripOwnCookies(incoming.cookie);
    if (cookie) headers.cookie = cookie;
  }
  if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
  const { trustedChain, peerAddress, proto, host } = options.forwarded;
  const chain = peerAddress ? [...trustedChain, peerAddress] : [...trustedChain];
  if (chain.length > 0) headers["x-forwarded-for"] = chain.join(", ");
  headers["x-forwarded-proto"] = proto;
  if (host) headers["x-forwarded-host"] = host;
  if (options.requestId) headers["x-request-id"] = options.requestId;
  return headers;
}

/**
 * The upstream's response headers to send back: hop-by-hop and BFF-owned
 * fields removed, `Set-Cookie` only when the upstream is configured to pass
 * it (`passSetCookie`), and never one that would overwrite a BFF cookie.
 */
export function downstreamResponseHeaders(incoming: Record<string, string | string[] | undefined>, passSetCookie: boolean): Record<string, string | string[]> {
  const dropped = connectionTokens(incoming.connection);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || RESPONSE_DROPPED.has(lower) || dropped.has(lower) || lower.startsWith("access-control-")) continue;
    headers[lower] = value;
  }
  if (passSetCookie && incoming["set-cookie"] !== undefined) {
    const cookies = ([] as string[]).concat(incoming["set-cookie"]).filter((line) => !OWN_COOKIE.test(line.trimStart()));
    if (cookies.length > 0) headers["set-cookie"] = cookies;
  }
  return headers;
}
