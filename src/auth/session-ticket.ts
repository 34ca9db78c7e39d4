/**
 * The cookie of the Redis session store: a ticket, `v1.<tag>.<id>.<secret>`.
 *
 * - `id` (128 random bits) names the Redis key of the session;
 * - `secret` (128 random bits, one per session) is never stored server-side;
 * - `tag` (8 characters of the SHA-256 of the user's Cognito `sub`) puts a
 *   session and its user's index in one Redis Cluster hash slot.
 *
 * The session is sealed with AES-256-GCM under a key derived by HKDF-SHA256
 * from BOTH the key material of `AUTH_SECRET` and the ticket's secret, with
 * the tag and id as associated data. A Redis dump alone opens nothing (the
 * secrets are in the browsers' cookies), a leaked `AUTH_SECRET` alone opens
 * nothing (the sealed sessions are in Redis), and a sealed session cannot be
 * moved to another key. Like oauth2-proxy's ticket, with AUTH_SECRET added.
 * @see https://oauth2-proxy.github.io/oauth2-proxy/configuration/session_storage
 */
import { createHash, hkdfSync, randomBytes } from "node:crypto";
import { openJson, sealJson } from "../seal.js";

export interface Ticket {
  tag: string;
  id: string;
  secret: string;
}

const VERSION = "v1";
const TICKET = /^v1\.([\w-]{8})\.([\w-]{22})\.([\w-]{22})$/;
const MASTER_INFO = "cognito-bff session master v1";
const KEY_INFO = "cognito-bff session v1";

/** The slot tag of a user: 8 base64url characters of SHA-256(sub). */
export function userTag(sub: string): string {
  return createHash("sha256").update(sub).digest("base64url").slice(0, 8);
}

export function newTicket(sub: string): Ticket {
  return { tag: userTag(sub), id: randomBytes(16).toString("base64url"), secret: randomBytes(16).toString("base64url") };
}

export function formatTicket({ tag, id, secret }: Ticket): string {
  return `${VERSION}.${tag}.${id}.${secret}`;
}

/** The ticket in a cookie value, or undefined for anything else (e.g. a cookie-mode JWE). */
export function parseTicket(value: string): Ticket | undefined {
  const match = TICKET.exec(value);
  return match ? { tag: match[1]!, id: match[2]!, secret: match[3]! } : undefined;
}

export interface TicketSealer {
  seal(value: unknown, ticket: Ticket): string;
  /** @returns undefined when it was not sealed for this ticket with a current secret. */
  open(sealed: string, ticket: Ticket): unknown;
}

/** `secrets[0]` seals; every secret opens (AUTH_SECRET_1..3 rotation). */
export function createTicketSealer(secrets: readonly string[]): TicketSealer {
  const masters = secrets.map((secret) => Buffer.from(hkdfSync("sha256", secret, "", MASTER_INFO, 32)));
  const keyFor = (master: Buffer, ticket: Ticket) =>
    Buffer.from(hkdfSync("sha256", Buffer.concat([master, Buffer.from(ticket.secret, "base64url")]), ticket.id, KEY_INFO, 32));
  const aad = (ticket: Ticket) => Buffer.from(`${ticket.tag}.${ticket.id}`);

  return {
    seal: (value, ticket) => sealJson(keyFor(masters[0]!, ticket), aad(ticket), value),
    open: (sealed, ticket) => openJson(masters.map((master) => keyFor(master, ticket)), aad(ticket), sealed),
  };
}
