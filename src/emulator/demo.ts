/** The demo user and app client of `npm run dev`. */
import type { EmulatorClient, EmulatorUser } from "./index.js";

export const demoUser: EmulatorUser = {
  username: "5b8e1f3a-2c4d-4e6f-8a9b-0c1d2e3f4a5b",
  email: "demo@example.com",
  password: "Passw0rd!demo",
  emailVerified: true,
  attributes: { name: "Demo User" },
};

export function demoClient(redirectOrigin: string, withSecret: boolean): EmulatorClient {
  const origin = redirectOrigin.replace(/\/+$/, "");
  return {
    clientId: "democlient0bff1234567890",
    ...(withSecret ? { clientSecret: "demo-client-secret-for-the-local-emulator-only" } : {}),
    redirectUris: [`${origin}/auth/callback/cognito`],
    logoutUris: [`${origin}/`, `${origin}/auth/signed-out`],
  };
}
