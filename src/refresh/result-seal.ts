/**
 * Seals refresh results stored in Redis: AES-256-GCM with a key derived by
 * HKDF-SHA256 from the session secret, the Redis key as associated data (a
 * result cannot be moved to another key), a random 96-bit nonce per value.
 * Redis never sees a token in the clear.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const INFO = "cognito-bff refresh result v1";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface ResultSeal {
  seal(value: unknown, key: string): string;
  /** @returns undefined when the value was not sealed with a current secret for this key. */
  open(sealed: string, key: string): unknown;
}

/** `secrets[0]` seals; every secret opens (so a rotation of AUTH_SECRET does not lose results in flight). */
export function createResultSeal(secrets: readonly string[]): ResultSeal {
  const keys = secrets.map((secret) => Buffer.from(hkdfSync("sha256", secret, "", INFO, 32)));
  return {
    seal(value, key) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv("aes-256-gcm", keys[0]!, nonce);
      cipher.setAAD(Buffer.from(key));
      const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
      return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64url");
    },
    open(sealed, key) {
      const raw = Buffer.from(sealed, "base64url");
      if (raw.length < NONCE_BYTES + TAG_BYTES) return undefined;
      for (const k of keys) {
        try {
          const decipher = createDecipheriv("aes-256-gcm", k, raw.subarray(0, NONCE_BYTES));
          decipher.setAAD(Buffer.from(key));
          decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
          const plain = Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
          return JSON.parse(plain.toString("utf8"));
        } catch {
          // try the next secret
        }
      }
      return undefined;
    },
  };
}
