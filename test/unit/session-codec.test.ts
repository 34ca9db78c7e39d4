import { decode as authjsDecode, encode as authjsEncode } from "@auth/core/jwt";
import { describe, expect, it } from "vitest";
import { createSessionCodec } from "../../src/auth/session-codec.js";

const SECRET = "a-very-long-secret-for-the-session-codec-tests";
const OLD_SECRET = "an-older-secret-that-is-being-rotated-out-now";
const SALT = "authjs.session-token";

const codecWith = (secrets: string[], now = Date.now) => createSessionCodec({ secrets, cookieName: SALT, maxAgeSeconds: 3600, now });

describe("session codec", () => {
  it("writes what @auth/core/jwt decodes", async () => {
    const codec = await codecWith([SECRET]);
    const sealed = await codec.encode({ access_token: "at", refresh_token: "rt", name: "Ada" });
    const payload = await authjsDecode({ token: sealed, secret: SECRET, salt: SALT });
    expect(payload).toMatchObject({ access_token: "at", refresh_token: "rt", name: "Ada" });
    expect(typeof payload?.jti).toBe("string");
  });

  it("reads what @auth/core/jwt encodes", async () => {
    const sealed = await authjsEncode({ token: { email: "ada@example.com", refresh_token: "rt" }, secret: SECRET, salt: SALT });
    const codec = await codecWith([SECRET]);
    expect(await codec.decode(sealed)).toMatchObject({ email: "ada@example.com", refresh_token: "rt" });
  });

  it("reads cookies sealed with an older secret during rotation and writes with the newest", async () => {
    const oldSealed = await authjsEncode({ token: { v: 1 }, secret: OLD_SECRET, salt: SALT });
    const codec = await codecWith([SECRET, OLD_SECRET]);
    expect(await codec.decode(oldSealed)).toMatchObject({ v: 1 });
    const fresh = await codec.encode({ v: 2 });
    expect(await authjsDecode({ token: fresh, secret: SECRET, salt: SALT })).toMatchObject({ v: 2 });
    await expect(authjsDecode({ token: fresh, secret: OLD_SECRET, salt: SALT })).rejects.toThrow();
  });

  it("returns null for a wrong secret, a tampered or truncated value, and garbage", async () => {
    const sealed = await (await codecWith([OLD_SECRET])).encode({ v: 1 });
    const codec = await codecWith([SECRET]);
    expect(await codec.decode(sealed)).toBeNull();
    const own = await codec.encode({ v: 1 });
    const parts = own.split(".");
    parts[3] = parts[3]!.slice(0, -2) + (parts[3]!.endsWith("AA") ? "BB" : "AA");
    expect(await codec.decode(parts.join("."))).toBeNull();
    expect(await codec.decode(own.slice(0, own.length - 10))).toBeNull();
    expect(await codec.decode("not-a-jwe")).toBeNull();
    expect(await codec.decode("")).toBeNull();
  });

  it("returns null for an expired session, judged by the injected clock", async () => {
    let now = Date.now();
    const codec = await codecWith([SECRET], () => now);
    const sealed = await codec.encode({ v: 1 });
    expect(await codec.decode(sealed)).not.toBeNull();
    now += 3600_000 + 16_000;
    expect(await codec.decode(sealed)).toBeNull();
  });

  it("is bound to the cookie name (the HKDF salt)", async () => {
    const sealed = await authjsEncode({ token: { v: 1 }, secret: SECRET, salt: "__Secure-authjs.session-token" });
    const codec = await codecWith([SECRET]);
    expect(await codec.decode(sealed)).toBeNull();
  });
});

describe("session store", () => {
  it("serves a cached session only until the session's own expiry, and re-issues when half its age is gone", async () => {
    const { createSessionStore } = await import("../../src/auth/session-store.js");
    let now = Date.now();
    const codec = await codecWith([SECRET], () => now);
    const store = createSessionStore(codec, { secure: false, now: () => now });
    const session = {
      access_token: "at",
      refresh_token: "rt",
      expires_at: now / 1000 + 600,
      issued_at: now / 1000,
      cognito_username: "u",
      cognito_sub: "u",
    };
    const [cookie] = await store.write(session, []);
    const header = cookie!.split(";")[0]!;
    const first = await store.read(header);
    expect(first.session).toMatchObject({ access_token: "at" });
    expect(store.isRenewalDue(first.session!)).toBe(false);
    expect((await store.read(header)).session).toBe(first.session); // the cached object
    now += 1801_000;
    expect(store.isRenewalDue((await store.read(header)).session!)).toBe(true);
    now += 1800_000 + 16_000;
    expect((await store.read(header)).session).toBeNull();
  });
});
