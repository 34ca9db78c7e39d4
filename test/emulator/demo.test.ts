import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoClient, demoUser } from "../../src/emulator/demo.js";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { authorizeUrl, formPost, parseForm } from "./support.js";

const ORIGIN = "http://localhost:3000";
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ users: [demoUser], clients: [demoClient(`${ORIGIN}/`, true)] });
});
afterAll(() => emu.close());

describe("the npm run dev demo", () => {
  it("demoClient registers the BFF's callback and sign-out pages, with a secret only when asked", () => {
    const client = demoClient(`${ORIGIN}/`, true);
    expect(client.redirectUris).toEqual([`${ORIGIN}/auth/callback/cognito`]);
    expect(client.logoutUris).toEqual([`${ORIGIN}/`, `${ORIGIN}/auth/signed-out`]);
    expect(client.clientSecret).toMatch(/^[\w+]{24,64}$/);
    expect(demoClient(ORIGIN, false).clientSecret).toBeUndefined();
  });

  it("the demo client offers Sign in with Google: identity_provider=Google goes to the emulated Google's consent page", async () => {
    const client = demoClient(ORIGIN, true);
    expect(client.supportedIdentityProviders).toEqual(["COGNITO", "Google"]);
    const url = authorizeUrl(emu, { response_type: "code", client_id: client.clientId, redirect_uri: client.redirectUris[0]!, scope: "openid email", identity_provider: "Google" });
    const res = await fetch(url, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toMatch(new RegExp(`^${emu.url}/_google/`));
  });

  it("the demo user signs in with demo@example.com / Passw0rd!demo and has a UUID username", async () => {
    expect(demoUser.username).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const client = demoClient(ORIGIN, true);
    const url = authorizeUrl(emu, { response_type: "code", client_id: client.clientId, redirect_uri: client.redirectUris[0]!, scope: "openid email" });
    const { action, fields } = parseForm(await (await fetch(url)).text(), url);
    const res = await fetch(action, formPost({ ...fields, username: "demo@example.com", password: "Passw0rd!demo" }));
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toMatch(new RegExp(`^${ORIGIN}/auth/callback/cognito\\?code=`));
  });
});
