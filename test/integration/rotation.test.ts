import { afterEach, describe, expect, it } from "vitest";
import { callToken, signIn, startHarness, type Harness } from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("refresh-token rotation (GetTokensFromRefreshToken)", () => {
  it.each([60, 0])("stores the rotated refresh token and never uses the old one again (grace %i s)", async (grace) => {
    h = await startHarness({
      emulator: { accessTokenTtlSeconds: 3600 },
      client: { rotation: { enabled: true, gracePeriodSeconds: grace } },
      env: { COGNITO_REFRESH_TOKEN_ROTATION: "true" },
    });
    const jar = await signIn(h.bff.url);
    const original = (await h.bff.bff.sessions.read(jar.header())).session!.refresh_token;

    h.emu.clock.advance(3600);
    expect((await callToken(jar, h.bff.url)).status).toBe(200);
    expect(h.emu.calls("GetTokensFromRefreshToken")).toBe(1);
    expect(h.emu.calls("InitiateAuth")).toBe(0);
    const rotated = (await h.bff.bff.sessions.read(jar.header())).session!.refresh_token;
    expect(rotated).not.toBe(original);
    expect(h.emu.refreshTokenState(rotated)).toBe("active");
    expect(h.emu.refreshTokenState(original)).toBe(grace > 0 ? "grace" : "rotated");

    // The next expiry refreshes with the new token; with the old one it would fail after the grace period.
    h.emu.clock.advance(3600);
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(200);
    expect(h.emu.calls("GetTokensFromRefreshToken")).toBe(2);
    expect(h.emu.refreshTokenState(rotated)).not.toBe("active");
  });

  it("without COGNITO_REFRESH_TOKEN_ROTATION, a rotating client rejects REFRESH_TOKEN_AUTH: 500, and the session is kept", async () => {
    h = await startHarness({
      emulator: { accessTokenTtlSeconds: 3600 },
      client: { rotation: { enabled: true, gracePeriodSeconds: 60 } },
    });
    const jar = await signIn(h.bff.url);
    h.emu.clock.advance(3600);
    const res = await callToken(jar, h.bff.url);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: "internal_error" });
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(h.emu.calls("InitiateAuth")).toBe(1);
    expect(h.bff.logs.join("")).toContain("InvalidParameterException");
  });
});
