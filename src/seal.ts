/**
 * JSON sealed with AES-256-GCM: a random 96-bit nonce per value, associated
 * data that binds the value to where it is stored. The one place where this
 * service encrypts what it keeps in Redis (refresh results, server-side
 * sessions); callers choose the keys.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** `base64url(nonce || ciphertext || tag)`. */
export function sealJson(key: Buffer, aad: Buffer, value: unknown): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString("base64url");
}

/** Opens with the first key that authenticates it; undefined when none does. */
export function openJson(keys: Iterable<Buffer>, aad: Buffer, sealed: string): unknown {
  const raw = Buffer.from(sealed, "base64url");
  if (raw.length < NONCE_BYTES + TAG_BYTES) return undefined;
  for (const key of keys) {
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, NONCE_BYTES));
      decipher.setAAD(aad);
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
      return JSON.parse(plain.toString("utf8"));
    } catch {
      // the next key
    }
  }
  return undefined;
}
