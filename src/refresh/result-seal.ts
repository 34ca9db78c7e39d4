/**
 * Seals refresh results stored in Redis: AES-256-GCM with a key derived by
 * HKDF-SHA256 from the session secret, the Redis key as associated data (a
 * result cannot be moved to another key), a random 96-bit nonce per value.
 * Redis never sees a token in the clear.
 */
import { hkdfSync } from "node:crypto";
import { openJson, sealJson } from "../seal.js";

const INFO = "cognito-bff refresh result v1";

export interface ResultSeal {
  seal(value: unknown, key: string): string;
  /** @returns undefined when the value was not sealed with a current secret for this key. */
  open(sealed: string, key: string): unknown;
}

/** `secrets[0]` seals; every secret opens (so a rotation of AUTH_SECRET does not lose results in flight). */
export function createResultSeal(secrets: readonly string[]): ResultSeal {
  const keys = secrets.map((secret) => Buffer.from(hkdfSync("sha256", secret, "", INFO, 32)));
  return {
    seal: (value, key) => sealJson(keys[0]!, Buffer.from(key), value),
    open: (sealed, key) => openJson(keys, Buffer.from(key), sealed),
  };
}
