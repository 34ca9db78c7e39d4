/**
 * `npm run emulator` (or `node dist/emulator/main.js`): the Cognito emulator on
 * its own, with the demo user and demo app client, for docker-compose and for
 * running the BFF by hand against it. Local use only; never in production.
 *
 * EMULATOR_HOST: address to listen on, and the host in the issuer URL (in
 *   compose: the service name, so the BFF containers reach the same issuer
 *   the tokens name). Default 127.0.0.1.
 * EMULATOR_PORT: default 4000.
 * EMULATOR_REDIRECT_ORIGIN: the BFF's PUBLIC_URL, whose `/auth/callback/cognito`
 *   the demo client accepts. Default http://localhost:3000.
 * EMULATOR_ACCESS_TOKEN_TTL: access token lifetime in seconds. Default 300.
 */
import { demoClient, demoUser } from "./demo.js";
import { startEmulator } from "./index.js";

async function main(): Promise<void> {
  const env = process.env;
  const redirectOrigin = env.EMULATOR_REDIRECT_ORIGIN ?? "http://localhost:3000";
  const client = demoClient(redirectOrigin, true);
  const emulator = await startEmulator({
    host: env.EMULATOR_HOST ?? "127.0.0.1",
    port: Number(env.EMULATOR_PORT ?? 4000),
    users: [demoUser],
    clients: [client],
    accessTokenTtlSeconds: Number(env.EMULATOR_ACCESS_TOKEN_TTL ?? 300),
  });
  console.log(
    [
      `Cognito emulator listening on ${emulator.url}`,
      `  COGNITO_ISSUER=${emulator.issuer}`,
      `  COGNITO_DOMAIN=${emulator.url}  COGNITO_ENDPOINT=${emulator.url}`,
      `  COGNITO_CLIENT_ID=${client.clientId}  (demo client; secret in src/emulator/demo.ts, local use only)`,
      `  Demo user: ${demoUser.email} / ${demoUser.password}; redirects accepted to ${redirectOrigin}/auth/callback/cognito`,
      `  Google sign-in: emulated (identity_provider=Google; set COGNITO_IDENTITY_PROVIDERS=Google on the BFF)`,
    ].join("\n"),
  );
  const stop = () => void emulator.close().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((error: unknown) => {
  console.error(`cognito emulator: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
