/**
 * Which key opens a sealed session, for every header Auth.js's format allows: with a `kid` (the key's JWK
 * thumbprint) any configured secret's key; without one the FIRST secret's key only, as `@auth/core/jwt` decodes
 * it; both content encryptions Auth.js accepts (A256CBC-HS512 with a 64-byte key, A256GCM with a 32-byte key).
 * The JWEs are built here with jose from the key derivation Auth.js documents, not with the codec under test.
 */
import { hkdfSync } from "node:crypto";
import { EncryptJWT, base64url, calculateJwkThumbprint } from "jose";
import { describe, expect, it } from "vitest";
import { createSessionCodec } from "../../src/auth/session-codec.js";

const FIRST = "the-current-secret-0123456789abcdefghijkl";
const SECOND = "the-previous-secret-0123456789abcdefghijk";
const SALT = "__Secure-authjs.session-token";
const NOW = Date.UTC(2030, 0, 1);

type Enc = "A256CBC-HS512" | "A256GCM";

/** Auth.js's key: HKDF-SHA256(secret, salt = cookie name, info naming the salt), 64 or 32 bytes by `enc`. */
function authjsKey(secret: string, enc: Enc): Uint8Array {
  return new Uint8Array(hkdfSync("sha256", secret, SALT, `Auth.js Generated Encryption Key (${SALT})`, enc === "A256GCM" ? 32 : 64));
}

async function seal(secret: string, enc: Enc, kid: "thumbprint" | "none" | string, claims: Record<string, unknown> = { v: 1 }): Promise<string> {
  const key = authjsKey(secret, enc);
  const header: { alg: string; enc: Enc; kid?: string } = { alg: "dir", enc };
  if (kid === "thumbprint") header.kid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(key) }, enc === "A256GCM" ? "sha256" : "sha512");
  else if (kid !== "none") header.kid = kid;
  const seconds = Math.floor(NOW / 1000);
  return new EncryptJWT(claims).setProtectedHeader(header).setIssuedAt(seconds).setExpirationTime(seconds + 3600).encrypt(key);
}

const codec = () => createSessionCodec({ secrets: [FIRST, SECOND], cookieName: SALT, maxAgeSeconds: 3600, now: () => NOW });

describe("session codec keys", () => {
  it.each<[Enc, string]>([
    ["A256CBC-HS512", FIRST],
    ["A256CBC-HS512", SECOND],
    ["A256GCM", FIRST],
    ["A256GCM", SECOND],
  ])("a session sealed with %s and a kid opens with the secret that sealed it (%#)", async (enc, secret) => {
    expect(await (await codec()).decode(await seal(secret, enc, "thumbprint"))).toMatchObject({ v: 1 });
  });

  it.each<Enc>(["A256CBC-HS512", "A256GCM"])("a session sealed with %s without a kid opens with the first secret", async (enc) => {
    expect(await (await codec()).decode(await seal(FIRST, enc, "none", { v: 2 }))).toMatchObject({ v: 2 });
  });

  it.each<Enc>(["A256CBC-HS512", "A256GCM"])("a session sealed with %s without a kid by a later secret does not open (Auth.js tries the first only)", async (enc) => {
    expect(await (await codec()).decode(await seal(SECOND, enc, "none"))).toBeNull();
  });

  it("a kid that names no configured key does not open, even with the right key behind it", async () => {
    expect(await (await codec()).decode(await seal(FIRST, "A256CBC-HS512", "not-a-thumbprint"))).toBeNull();
  });

  it("the kid of one encryption does not select the other's key", async () => {
    const gcmKid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(authjsKey(FIRST, "A256GCM")) }, "sha256");
    expect(await (await codec()).decode(await seal(FIRST, "A256CBC-HS512", gcmKid))).toBeNull();
  });

  it("what the codec seals carries the first secret's thumbprint as kid, and iat, exp (now + max age) and a fresh jti", async () => {
    const c = await codec();
    const sealed = await c.encode({ v: 3 });
    const header = JSON.parse(Buffer.from(sealed.split(".")[0]!, "base64url").toString()) as Record<string, string>;
    const kid = await calculateJwkThumbprint({ kty: "oct", k: base64url.encode(authjsKey(FIRST, "A256CBC-HS512")) }, "sha512");
    expect(header).toEqual({ alg: "dir", enc: "A256CBC-HS512", kid });
    const payload = await c.decode(sealed);
    expect(payload).toMatchObject({ v: 3, iat: NOW / 1000, exp: NOW / 1000 + 3600 });
    expect(payload!.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect((await c.decode(await c.encode({ v: 3 })))!.jti).not.toBe(payload!.jti);
  });

  it("a session stays readable for 15 s past its exp (Auth.js's clock tolerance), and no longer", async () => {
    let now = NOW;
    const c = await createSessionCodec({ secrets: [FIRST], cookieName: SALT, maxAgeSeconds: 60, now: () => now });
    const sealed = await c.encode({ v: 4 });
    now += 74_000;
    expect(await c.decode(sealed)).toMatchObject({ v: 4 });
    now += 1_000;
    expect(await c.decode(sealed)).toBeNull();
  });

  it("a codec without a secret is refused when it is built", async () => {
    await expect(createSessionCodec({ secrets: [], cookieName: SALT, maxAgeSeconds: 60, now: () => NOW })).rejects.toThrow("createSessionCodec needs at least one secret");
  });
});
