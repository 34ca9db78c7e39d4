import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { callToken, CLIENT_ID, signIn, signOut as signOutAt, startHarness, type Harness } from "../helpers/harness.js";
import type { CookieJar } from "../helpers/cookie-jar.js";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h?.close();
});

const signOut = (jar: CookieJar, callbackUrl: string) => signOutAt(h.bff.url, jar, callbackUrl);

describe("sign-out", () => {
  it("revokes the refresh token at Cognito and clears the session", async () => {
    const jar = await signIn(h.bff.url);
    const refreshToken = (await h.bff.bff.sessions.read(jar.header())).session!.refresh_token;
    const res = await signOut(jar, `${h.bff.url}/`);
    expect(res.status).toBe(302);
    expect(h.emu.refreshTokenState(refreshToken)).toBe("revoked");
    expect(h.emu.calls("RevokeToken")).toBe(1);
    expect(jar.sessionCookieNames()).toEqual([]);
    expect((await callToken(jar, h.bff.url)).status).toBe(401);
  });

  it("can continue to the Hosted UI /logout with an allowed logout_uri", async () => {
    const jar = await signIn(h.bff.url);
    const hostedLogout = `${h.emu.url}/logout?client_id=${CLIENT_ID}&logout_uri=${encodeURIComponent(`${h.bff.url}/`)}`;
    const res = await signOut(jar, hostedLogout);
    expect(res.headers.get("location")).toBe(hostedLogout);
    const logout = await fetch(hostedLogout, { redirect: "manual" });
    expect(logout.status).toBe(302);
    expect(logout.headers.get("location")).toBe(`${h.bff.url}/`);
  });

  it("never redirects to a foreign site after sign-out", async () => {
    for (const target of ["https://evil.example/", `${h.emu.url}/logout?client_id=${CLIENT_ID}&logout_uri=https%3A%2F%2Fevil.example%2F`]) {
      const jar = await signIn(h.bff.url);
      const res = await signOut(jar, target);
      expect(res.headers.get("location"), target).toBe(h.bff.url);
    }
  });
});
