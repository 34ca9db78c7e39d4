/**
 * What a shared cache (a CDN, a corporate proxy) may keep of a relayed answer.
 * The browser authorizes a relayed call with its session cookie, not with
 * `Authorization`, so RFC 9111 3.5 (a shared cache does not reuse answers to
 * requests with `Authorization`) does not protect it: an upstream's
 * `Cache-Control: public, max-age=600` would let the cache serve one user's
 * answer to the next, and a re-issued session cookie with it.
 * @see https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2 (response directives)
 * @see https://www.rfc-editor.org/rfc/rfc9213 (CDN-Cache-Control, targeted fields)
 */

/**
 * Who an answer is for, as far as caches go:
 * - `user`: the session cookie authorized the call (a user's token went upstream);
 * - `cookie`: it could have (`user-or-none` without a session): the answer depends on the Cookie header;
 * - `service`: the BFF's own token, no cookie sent (`client` mode).
 */
export type CacheAudience = "user" | "cookie" | "service";

/**
 * One directive of a Cache-Control value: a token, optionally `=token` or
 * `="quoted, string"` (so a comma inside quotes does not split it).
 */
const DIRECTIVE = /([^\s=,]+)(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s,]*))?/g;

/** Directives that widen or split an answer's audience; `private` is re-added bare (`private="x"` is private for field x only). */
const SHARED_ONLY = new Set(["public", "s-maxage", "private", "proxy-revalidate"]);

/**
 * Fields that tell a CDN what to cache, taking precedence over Cache-Control
 * there (RFC 9213): `CDN-Cache-Control`, vendor variants such as
 * `Cloudflare-CDN-Cache-Control`, and `Surrogate-Control`.
 */
export function isTargetedCacheField(lowerName: string): boolean {
  return lowerName.endsWith("cdn-cache-control") || lowerName === "surrogate-control";
}

/**
 * The upstream's Cache-Control made private: `public`, `s-maxage`,
 * `proxy-revalidate` and a field-scoped `private="..."` removed, a bare
 * `private` in front. Without a Cache-Control of its own the answer gets
 * `private` alone: a 200 without one may be cached heuristically by a shared
 * cache (RFC 9111 4.2.2). `no-store` stays `no-store`.
 */
export function privateCacheControl(upstream: string | string[] | undefined): string {
  if (upstream === undefined) return "private";
  const value = typeof upstream === "string" ? upstream : upstream.join(", ");
  let kept = "private";
  for (const match of value.matchAll(DIRECTIVE)) {
    if (SHARED_ONLY.has(match[1]!.toLowerCase())) continue;
    kept += `, ${match[0]}`;
  }
  return kept;
}

/** A Vary value that already names Cookie, or is `*` (varies by everything). */
const VARIES_BY_COOKIE = /(?:^|,)\s*(?:cookie|\*)\s*(?:,|$)/i;

/** The upstream's `Vary` with `Cookie` added (unless it names it already or is `*`). */
export function varyWithCookie(upstream: string | string[] | undefined): string {
  if (upstream === undefined) return "Cookie";
  const value = typeof upstream === "string" ? upstream : upstream.join(", ");
  return VARIES_BY_COOKIE.test(value) ? value : `${value}, Cookie`;
}
