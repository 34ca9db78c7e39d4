/**
 * Session cookie I/O without a framework: Cookie header in, Set-Cookie values
 * out. Used by `/token` and the proxy; Auth.js reads and writes the same
 * cookies through its own code, in the same format.
 */
import type { SessionCodec } from "./session-codec.js";
import {
  clearSessionCookies,
  parseCookieHeader,
  readSessionCookie,
  writeSessionCookies,
  type CookieAttributes,
} from "./session-cookies.js";
import { toSessionPayload, type SessionPayload } from "./session-payload.js";

export interface SessionRead {
  /** The session, or null when there is none or it is not usable. */
  session: SessionPayload | null;
  /** Names of the session cookies present on the request (to replace or expire them). */
  cookieNames: string[];
}

export interface SessionStore {
  readonly cookieName: string;
  read(cookieHeader: string | undefined): Promise<SessionRead>;
  /** Set-Cookie values for a new or updated session. */
  write(session: SessionPayload, presentNames: readonly string[]): Promise<string[]>;
  /** Set-Cookie values that end the session. */
  clear(presentNames: readonly string[]): string[];
  /** Names of the session cookies on a request, for clearing them. */
  presentCookieNames(cookieHeader: string | undefined): string[];
}

export function sessionCookieName(secure: boolean): string {
  return `${secure ? "__Secure-" : ""}authjs.session-token`;
}

export function createSessionStore(codec: SessionCodec, attributes: Omit<CookieAttributes, "maxAgeSeconds">): SessionStore {
  const cookieAttributes: CookieAttributes = { ...attributes, maxAgeSeconds: codec.maxAgeSeconds };
  const { cookieName } = codec;
  return {
    cookieName,

    async read(cookieHeader) {
      const { value, names } = readSessionCookie(parseCookieHeader(cookieHeader), cookieName);
      if (!value) return { session: null, cookieNames: names };
      return { session: toSessionPayload(await codec.decode(value)), cookieNames: names };
    },

    async write(session, presentNames) {
      return writeSessionCookies(cookieName, await codec.encode(session), presentNames, cookieAttributes);
    },

    clear(presentNames) {
      return clearSessionCookies(presentNames, cookieAttributes);
    },

    presentCookieNames(cookieHeader) {
      return readSessionCookie(parseCookieHeader(cookieHeader), cookieName).names;
    },
  };
}
