/** The demo user and app client of `npm run dev`. Not secrets: they only open the local emulator. */
import type { EmulatorClient, EmulatorUser } from "./index.js";

export const demoUser: EmulatorUser = {
  username: "5b8e1f3a-2c4d-4e6f-8a9b-0c1d2e3f4a5b",
  email: "demo@example.com",
  password: "Passw0rd!demo",
  emailVerified: true,
  attributes: { name: "Demo User" },
};

/**
 * The app client for a BFF served at `redirectOrigin`. The id and secret have
 * the shape Cognito allows (`[\w+]+`, a 24-64 character secret). It offers the
 * pool's own sign-in and the emulated Google (`identity_provider=Google`).
 */
export function demoClient(redirectOrigin: string, withSecret: boolean): EmulatorClient {
  const origin = redirectOrigin.replace(/\/+$/, "");
  return {
    clientId: "democlient0bff1234567890",
    ...(withSecret ? { clientSecret: "demoClientSecretForTheLocalEmulatorOnly0123456789" } : {}),
    redirectUris: [`${origin}/auth/callback/cognito`],
    logoutUris: [`${origin}/`, `${origin}/auth/signed-out`],
    supportedIdentityProviders: ["COGNITO", "Google"],
  };
}
