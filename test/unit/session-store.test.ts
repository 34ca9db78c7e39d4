/**
 * The cookie session store (SESSION_STORE=cookie) through its interface: a written session reads back with an
 * id, revoked sessions end on every read (the cached ones too), the cache never outlives a session, and the
 * rolling re-issue comes once half the max age is gone.
 */
import { describe, expect, it } from "vitest";
import type { RevocationCheck } from "../../src/auth/revocations.js";
import { createSessionCodec } from "../../src/auth/session-codec.js";
import { createSessionStore, sessionCookieName, type SessionStore } from "../../src/auth/session-store.js";
import type { SessionPayload } from "../../src/auth/session-payload.js";
import { BffError } from "../../src/errors.js";

const SECRET = "session-store-test-secret-0123456789abcdef";
const MAX_AGE = 3600;
const START = Date.UTC(2030, 0, 1);

const session: SessionPayload = {
  access_token: "at",
  refresh_token: "rt",
  expires_at: START / 1000 + 600,
  issued_at: START / 1000,
  cognito_username: "user-1",
  cognito_sub: "sub-1",
};

async function storeWith(options: { maxEntries?: number; revoked?: (s: SessionPayload) => boolean; secure?: boolean } = {}) {
  const clock = { now: START };
  const secure = options.secure ?? false;
  const codec = await createSessionCodec({ secrets: [SECRET], cookieName: sessionCookieName(secure), maxAgeSeconds: MAX_AGE, now: () => clock.now });
  const revocations: RevocationCheck | undefined = options.revoked
    ? {
        assertActive: (s) => {
          if (options.revoked!(s)) throw new BffError("session_expired");
        },
        isRevoked: (s) => options.revoked!(s as SessionPayload),
      }
    : undefined;
  const store = createSessionStore(codec, { secure, now: () => clock.now }, { maxEntries: options.maxEntries ?? 100 }, revocations);
  return { store, clock };
}

/** The Cookie header a browser sends back after these Set-Cookie lines. */
const cookieHeader = (lines: string[]) => lines.filter((l) => !/Max-Age=0/.test(l)).map((l) => l.slice(0, l.indexOf(";"))).join("; ");

async function written(store: SessionStore, s: SessionPayload = session): Promise<string> {
  return cookieHeader(await store.write(s, []));
}

describe("cookie session store", () => {
  it("names its cookie with the __Secure- prefix on https only", async () => {
    expect(sessionCookieName(true)).toBe("__Secure-authjs.session-token");
    expect(sessionCookieName(false)).toBe("authjs.session-token");
    const { store } = await storeWith({ secure: true });
    expect(store.cookieName).toBe("__Secure-authjs.session-token");
    expect((await store.write(session, []))[0]).toMatch(/^__Secure-authjs\.session-token=[^;]+;.*; Secure/);
  });

  it("a written session reads back with its tokens and a session id, kept through the next write", async () => {
    const { store } = await storeWith();
    const read = await store.read(await written(store));
    expect(read.session).toMatchObject({ ...session, sid: expect.stringMatching(/^[\w-]{22}$/) });
    expect(read.cookieNames).toEqual(["authjs.session-token"]);
    const again = await store.read(await written(store, read.session!));
    expect(again.session!.sid).toBe(read.session!.sid);
  });

  it("no cookie, someone else's cookie or a cookie that does not open is no session; the names present are still reported", async () => {
    const { store } = await storeWith();
    expect(await store.read(undefined)).toEqual({ session: null, cookieNames: [] });
    expect(await store.read("theme=dark")).toEqual({ session: null, cookieNames: [] });
    expect(await store.read("authjs.session-token=garbage; authjs.session-token.0=x")).toEqual({ session: null, cookieNames: ["authjs.session-token", "authjs.session-token.0"] });
    expect(store.presentCookieNames("authjs.session-token.0=a; authjs.session-token.1=b; other=c")).toEqual(["authjs.session-token.0", "authjs.session-token.1"]);
  });

  it("a revoked session ends on every read, the cached one included", async () => {
    let revoked = false;
    const { store } = await storeWith({ revoked: () => revoked });
    const cookie = await written(store);
    expect((await store.read(cookie)).session).not.toBeNull();
    revoked = true;
    await expect(store.read(cookie)).rejects.toMatchObject({ code: "session_expired" });
  });

  it("without a cache (0 entries) every read opens the cookie anew and gives the same session", async () => {
    const { store } = await storeWith({ maxEntries: 0 });
    const cookie = await written(store);
    const first = await store.read(cookie);
    const second = await store.read(cookie);
    expect(second.session).toEqual(first.session);
    expect(second.session).not.toBe(first.session);
  });

  it("a session is not served from the cache once its exp has come, even within the codec's clock tolerance", async () => {
    const { store, clock } = await storeWith();
    const cookie = await written(store);
    const first = (await store.read(cookie)).session!;
    expect((await store.read(cookie)).session).toBe(first);
    clock.now = (first.exp as number) * 1000;
    const atExpiry = (await store.read(cookie)).session;
    // The codec still opens it (15 s tolerance, as Auth.js), but from the cookie again, not from the cache.
    expect(atExpiry).toEqual(first);
    expect(atExpiry).not.toBe(first);
  });

  it("is renewed once less than half its max age is left, or when it has no exp", async () => {
    const { store, clock } = await storeWith();
    const read = (await store.read(await written(store))).session!;
    expect(read.exp).toBe(START / 1000 + MAX_AGE);
    clock.now = START + (MAX_AGE / 2) * 1000;
    expect(store.isRenewalDue(read)).toBe(false);
    clock.now += 1000;
    expect(store.isRenewalDue(read)).toBe(true);
    expect(store.isRenewalDue({ ...session })).toBe(true);
  });

  it("a write expires the chunks the new cookie does not use; clear expires the cookies named", async () => {
    const { store } = await storeWith();
    const lines = await store.write(session, ["authjs.session-token.0", "authjs.session-token.1"]);
    expect(lines.filter((l) => /Max-Age=0/.test(l)).map((l) => l.slice(0, l.indexOf("=")))).toEqual(["authjs.session-token.0", "authjs.session-token.1"]);
    expect(store.clear(["authjs.session-token"])).toEqual([expect.stringMatching(/^authjs\.session-token=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax$/)]);
    await expect(store.end(session)).resolves.toBeUndefined();
  });
});
