/**
 * `npm run dev`: with no COGNITO_ISSUER configured (and NODE_ENV not
 * production), starts the built-in Cognito emulator with a demo user and the
 * BFF wired to it, and prints how to sign in. With COGNITO_ISSUER set, it
 * runs the BFF against that pool. Either way it also starts the demo SPA on
 * its own origin (DEMO_PORT, default 5173; allowed by CORS) and a sample API
 * that the demo calls directly and through `/api/sample/`.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { startSampleApi } from "./dev/sample-api.js";
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
  // The demo is served from `localhost` like the BFF: same site, so the SameSite=Lax session cookie goes with its calls.
  const demoPort = Number(env.DEMO_PORT ?? 5173);
  const demoOrigin = `http://localhost:${demoPort}`;
  env.ALLOWED_ORIGINS = [env.ALLOWED_ORIGINS, demoOrigin].filter(Boolean).join(",");

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

  const sampleApi = await startSampleApi({
    issuer: env.COGNITO_ISSUER!,
    clientId: env.COGNITO_CLIENT_ID ?? "",
    allowedOrigins: [demoOrigin],
  });
  env.UPSTREAMS ??= JSON.stringify({ sample: { url: sampleApi.url, token: "user" } });

  const running = await startServer(env, { devPage: true });
  const { createServer } = await import("vite");
  const demo = await createServer({
    configFile: fileURLToPath(new URL("../demo/vite.config.ts", import.meta.url)),
    define: { __BFF_URL__: JSON.stringify(running.config.publicUrl.origin), __SAMPLE_API_URL__: JSON.stringify(sampleApi.url) },
    server: { host: "localhost", port: demoPort, strictPort: true },
  });
  await demo.listen();
  process.once("exit", () => {
    void closeEmulator();
    void sampleApi.close();
    void demo.close();
  });
  exitOnSignals(running);
  console.log(
    [
      ``,
      `cognito-bff is running in development mode.`,
      `  Demo SPA:         ${demoOrigin}/  (its own origin: sign in, watch the token count down, call the sample API)`,
      `  Dev page:         ${running.config.publicUrl.origin}/  (same origin as the BFF: sign in, then press "GET /token")`,
      `  Token endpoint:   GET ${running.config.publicUrl.origin}/token  (with header X-CSRF: 1 and the session cookie)`,
      `  Sample API:       ${sampleApi.url}  (also relayed as ${running.config.publicUrl.origin}/api/sample/)`,
      banner,
      ``,
    ].join("\n"),
  );
}

main().catch((error: unknown) => {
  console.error(`cognito-bff dev: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
