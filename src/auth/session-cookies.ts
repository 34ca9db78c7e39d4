/**
 * Reads and writes the session cookie the way Auth.js's `SessionStore` does:
 * one cookie `<name>` when the sealed value fits, otherwise chunks
 * `<name>.0 … <name>.N` of at most {@link CHUNK_SIZE} characters, and every
 * previously present chunk that is not rewritten is expired, so a shrinking
 * session leaves no stale chunk behind.
 *
 * Reading is stricter than Auth.js: chunks must be numbered 0..N without gaps
 * or duplicates, otherwise there is no session (instead of a spliced value).
 */
import { parse, serialize, type SerializeOptions } from "cookie";

/** 4096 bytes per cookie minus Auth.js's estimate (160) for the name and attributes. */
export const CHUNK_SIZE = 4096 - 160;

export interface SessionCookieRead {
  /** The joined sealed value, or undefined when there is none (or it is malformed). */
  value: string | undefined;
  /** Names of every cookie of this session present on the request (to expire them later). */
  names: string[];
}

export interface CookieAttributes {
  secure: boolean;
  /** Lifetime of a written cookie in seconds. */
  maxAgeSeconds: number;
  /** Epoch milliseconds. */
  now: () => number;
}

/** Parses a Cookie header; tolerant of junk, like browsers. */
export function parseCookieHeader(header: string | undefined): Record<string, string | undefined> {
  if (!header) return {};
  try {
    return parse(header);
  } catch {
    return {};
  }
}

export function readSessionCookie(cookies: Record<string, string | undefined>, name: string): SessionCookieRead {
  const chunks = new Map<number, string>();
  const names: string[] = [];
  let single: string | undefined;
  let malformed = false;
  const prefix = `${name}.`;
  for (const [cookieName, value] of Object.entries(cookies)) {
    if (cookieName === name) {
      names.push(cookieName);
      single = value;
    } else if (cookieName.startsWith(prefix)) {
      names.push(cookieName);
      const suffix = cookieName.slice(prefix.length);
      if (!/^(0|[1-9]\d{0,2})$/.test(suffix)) malformed = true;
      else chunks.set(Number(suffix), value ?? "");
    }
  }
  if (chunks.size === 0) return { value: single || undefined, names };
  if (malformed) return { value: undefined, names };
  const parts: string[] = [];
  for (let i = 0; i < chunks.size; i++) {
    const part = chunks.get(i);
    if (part === undefined || part === "") return { value: undefined, names };
    parts.push(part);
  }
  return { value: parts.join(""), names };
}

function baseOptions({ secure }: CookieAttributes): SerializeOptions {
  return { httpOnly: true, sameSite: "lax", path: "/", secure };
}

/** Set-Cookie values that expire every named cookie. */
export function clearSessionCookies(names: readonly string[], attributes: CookieAttributes): string[] {
  const options = { ...baseOptions(attributes), maxAge: 0, expires: new Date(0) };
  return names.map((cookieName) => serialize(cookieName, "", options));
}

/** Set-Cookie values that store `value` (chunked when needed) and expire stale chunks in `presentNames`. */
export function writeSessionCookies(
  name: string,
  value: string,
  presentNames: readonly string[],
  attributes: CookieAttributes,
): string[] {
  const options: SerializeOptions = {
    ...baseOptions(attributes),
    expires: new Date(attributes.now() + attributes.maxAgeSeconds * 1000),
  };
  const written = new Map<string, string>();
  const count = Math.ceil(value.length / CHUNK_SIZE);
  if (count <= 1) written.set(name, value);
  else for (let i = 0; i < count; i++) written.set(`${name}.${i}`, value.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE));

  const headers = [...written].map(([cookieName, part]) => serialize(cookieName, part, options));
  const stale = presentNames.filter((cookieName) => !written.has(cookieName));
  return [...headers, ...clearSessionCookies(stale, attributes)];
}
