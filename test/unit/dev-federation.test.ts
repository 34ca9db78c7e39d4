/**
 * `npm run dev` with the built-in emulator lets the demo's "Sign in with
 * Google" work out of the box (issue 14): COGNITO_IDENTITY_PROVIDERS=Google,
 * unless the developer set that list themselves.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { devBanner, withEmulator } from "../../src/dev/dev-setup.js";

const emulator = { issuer: "http://127.0.0.1:4000/us-east-1_Emulator1", url: "http://127.0.0.1:4000", clientId: "democlient0bff1234567890", clientSecret: "s".repeat(40) };

describe("withEmulator", () => {
  it("wires the BFF to the emulator and allows its Google, so the configuration accepts identity_provider=Google", () => {
    const env = withEmulator({ AUTH_SECRET: "generated-dev-secret-0123456789abcdef" }, emulator);
    expect(env).toMatchObject({ COGNITO_ISSUER: emulator.issuer, COGNITO_DOMAIN: emulator.url, COGNITO_ENDPOINT: emulator.url, COGNITO_IDENTITY_PROVIDERS: "Google" });
    expect(loadConfig(env).cognito.identityProviders).toEqual(["Google"]);
  });

  it("keeps a COGNITO_IDENTITY_PROVIDERS the developer set, and treats a blank one as unset", () => {
    expect(withEmulator({ COGNITO_IDENTITY_PROVIDERS: "COGNITO" }, emulator).COGNITO_IDENTITY_PROVIDERS).toBe("COGNITO");
    expect(withEmulator({ COGNITO_IDENTITY_PROVIDERS: " " }, emulator).COGNITO_IDENTITY_PROVIDERS).toBe("Google");
  });

  it("the banner mentions the emulated Google only when sign-ins may ask for it", () => {
    const info = { bffOrigin: "http://localhost:3000", demoOrigin: "http://localhost:5173", sampleApiUrl: "http://127.0.0.1:4100", sampleRelayed: true, allowedOrigins: ["http://localhost:5173"] };
    const base = { url: emulator.url, poolId: "us-east-1_Emulator1", email: "demo@example.com", password: "p", accessTokenTtlSeconds: 300 };
    expect(devBanner({ ...info, emulator: { ...base, google: true } })).toContain("Google sign-in:   emulated");
    expect(devBanner({ ...info, emulator: { ...base, google: false } })).not.toContain("Google sign-in");
  });
});
