/**
 * Seals and opens the session cookie in exactly the format of `@auth/core/jwt`
 * (a JWE with `alg: dir`, `enc: A256CBC-HS512`, the key derived by HKDF-SHA256
 * from the secret with the cookie name as salt, and the key's JWK thumbprint as
 * `kid`), so that Auth.js and this service read each other's cookies.
 *
 * Unlike `@auth/core/jwt`, the keys are derived once per secret when the codec
 * is built and kept as node:crypto `KeyObject`s, so a decode costs a JWE
 * decryption and nothing else. (Auth.js derives the key with HKDF and imports it
 * into WebCrypto on every call.)
 * @see https://www.rfc-editor.org/rfc/rfc7516 (JWE)
 */
import { createSecretKey, hkdfSync, randomUUID, type KeyObject } from "node:crypto";
import { EncryptJWT, base64url, calculateJwkThumbprint, jwtDecrypt, type JWTPayload } from "jose";

const ALG = "dir";
const ENC = "A256CBC-HS512";
/** Auth.js accepts both on decode; it only writes A256CBC-HS512. */
const DECRYPT_ENCS = [ENC, "A256GCM"] as const;
const KEY_LENGTH: Record<(typeof DECRYPT_ENCS)[number], number> = { "A256CBC-HS512": 64, A256GCM: 32 };
/** Same leeway as `@auth/core/jwt` decode. */
const CLOCK_TOLERANCE_SECONDS = 15;

export interface SessionCodec {
  /** The cookie name, which is also the HKDF salt. */
  readonly cookieName: string;
  readonly maxAgeSeconds: number;
  /** Seals a payload with the first secret; sets `iat`, `exp` (now + maxAge) and a fresh `jti`. */
  encode(payload: Record<string, unknown>): Promise<string>;
  /** Opens a sealed session with any configured secret; null when it is invalid, tampered or expired. */
  decode(sealed: string): Promise<JWTPayload | null>;
}

export interface SessionCodecOptions {
  secrets: readonly string[];
  cookieName: string;
  maxAgeSeconds: number;
  /** Epoch milliseconds. */
  now: () => number;
}

interface DerivedKey {
  key: KeyObject;
  kid: string;
}

async function deriveKey(secret: string, salt: string, enc: keyof typeof KEY_LENGTH): Promise<DerivedKey> {
  const raw = new Uint8Array(hkdfSync("sha256", secret, salt, `Auth.js Generated Encryption Key (${salt})`, KEY_LENGTH[enc]));
  const kid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(raw) }, `sha${raw.byteLength << 3}` as "sha256" | "sha512");
  return { key: createSecretKey(raw), kid };
}

export async function createSessionCodec({ secrets, cookieName, maxAgeSeconds, now }: SessionCodecOptions): Promise<SessionCodec> {
  if (secrets.length === 0) throw new Error("createSessionCodec needs at least one secret");
  // Keys by `${enc} ${kid}`, plus the first secret's key per enc for tokens without a kid (as Auth.js does).
  const byKid = new Map<string, KeyObject>();
  const withoutKid = new Map<string, KeyObject>();
  for (const enc of DECRYPT_ENCS) {
    for (const [index, secret] of secrets.entries()) {
      const derived = await deriveKey(secret, cookieName, enc);
      byKid.set(`${enc} ${derived.kid}`, derived.key);
      if (index === 0) withoutKid.set(enc, derived.key);
    }
  }
  const encryptKey = await deriveKey(secrets[0]!, cookieName, ENC);

  return {
    cookieName,
    maxAgeSeconds,

    async encode(payload) {
      const nowSeconds = Math.floor(now() / 1000);
      return new EncryptJWT(payload)
        .setProtectedHeader({ alg: ALG, enc: ENC, kid: encryptKey.kid })
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + maxAgeSeconds)
        .setJti(randomUUID())
        .encrypt(encryptKey.key);
    },

    async decode(sealed) {
      try {
        const { payload } = await jwtDecrypt(
          sealed,
          (header) => {
            // Stryker disable next-line StringLiteral: jose refuses a JWE without "enc" before it asks for a key.
            const enc = header.enc ?? "";
            const key = header.kid === undefined ? withoutKid.get(enc) : byKid.get(`${enc} ${header.kid}`);
            // Stryker disable next-line StringLiteral: the error is caught below; only "no key" matters, not its words.
            if (!key) throw new Error("no matching decryption secret");
            return key;
          },
          {
            clockTolerance: CLOCK_TOLERANCE_SECONDS,
            keyManagementAlgorithms: [ALG],
            contentEncryptionAlgorithms: [...DECRYPT_ENCS],
            currentDate: new Date(now()),
          },
        );
        return payload;
      } catch {
        // Any failure (bad base64, wrong key, tampering, expiry) means "no session".
        return null;
      }
    },
  };
}
