/**
 * `npm run dev`: with no COGNITO_ISSUER configured (and NODE_ENV not
 * production), starts the built-in Cognito emulator with a demo user and the
 * BFF wired to it, and prints how to sign in. With COGNITO_ISSUER set, it
 * runs the BFF against that pool, with the dev page at `/`.
 */
import { randomBytes } from "node:crypto";
import { exitOnSignals, startServer } from "./server.js";

async function main(): Promise<void> {
  const env: Record<string, string | undefined> = { ...process.env };
  if (env.NODE_ENV === "production") {
    throw new Error("npm run dev is for development; use npm start in production");
  }
  const port = Number(env.PORT ?? 3000);
  env.PUBLIC_URL ??= `http://localhost:${port}`;
  // A fresh secret per run: dev sessions do not survive a restart, and nothing secret is printed.
  env.AUTH_SECRET ??= randomBytes(32).toString("base64url");

  let banner = "";
  let closeEmulator = async () => {};
  if (!env.COGNITO_ISSUER) {
    const { startEmulator } = await import("./emulator/index.js");
    const { demoClient, demoUser } = await import("./emulator/demo.js");
    const client = demoClient(env.PUBLIC_URL, true);
    const emulator = await startEmulator({
      port: Number(env.EMULATOR_PORT ?? 4000),
      users: [demoUser],
      clients: [client],
      accessTokenTtlSeconds: Number(env.EMULATOR_ACCESS_TOKEN_TTL ?? 300),
    });
    closeEmulator = () => emulator.close();
    Object.assign(env, {
      COGNITO_ISSUER: emulator.issuer,
      COGNITO_CLIENT_ID: client.clientId,
      COGNITO_CLIENT_SECRET: client.clientSecret,
      COGNITO_DOMAIN: emulator.url,
      COGNITO_ENDPOINT: emulator.url,
    });
    banner = [
      ``,
      `  Cognito emulator: ${emulator.url} (pool ${emulator.poolId})`,
      `  Demo user:        ${demoUser.email} / ${demoUser.password}`,
      `  Access tokens live ${env.EMULATOR_ACCESS_TOKEN_TTL ?? 300} s, so you can watch them refresh.`,
    ].join("\n");
  }

  const running = await startServer(env, { devPage: true });
  process.once("exit", () => void closeEmulator());
  exitOnSignals(running);
  console.log(
    [
      ``,
      `cognito-bff is running in development mode.`,
      `  Open:             ${running.config.publicUrl.origin}/  (sign in, then press "GET /token")`,
      `  Token endpoint:   GET ${running.config.publicUrl.origin}/token  (with header X-CSRF: 1 and the session cookie)`,
      banner,
      ``,
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error(`cognito-bff dev: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
