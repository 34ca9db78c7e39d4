/**
 * `npm run dev`: with no COGNITO_ISSUER configured (and NODE_ENV not
 * production), starts the built-in Cognito emulator with a demo user and the
 * BFF wired to it, and prints how to sign in. With COGNITO_ISSUER set, it
 * runs the BFF against that pool. Either way it also starts the demo SPA on
 * its own origin (DEMO_PORT, default 5173; allowed by CORS unless
 * ALLOWED_ORIGINS is set) and a sample API that the demo calls directly and,
 * unless UPSTREAMS is set, through `/api/sample/`. The environment and the
 * banner are built in `dev/dev-setup.ts`.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { buildDevEnv, devBanner, withEmulator, withSampleUpstream, type DevBannerInfo } from "./dev/dev-setup.js";
import { startSampleApi } from "./dev/sample-api.js";
import { exitOnSignals, startServer } from "./server.js";

async function main(): Promise<void> {
  // A fresh secret per run: dev sessions do not survive a restart, and nothing secret is printed.
  const { env: devEnv, demoOrigin, demoPort } = buildDevEnv(process.env, () => randomBytes(32).toString("base64url"));
  const env = { ...devEnv };

  let emulatorInfo: DevBannerInfo["emulator"];
  let closeEmulator = async () => {};
  if (!env.COGNITO_ISSUER) {
    const { startEmulator } = await import("./emulator/index.js");
    const { demoClient, demoUser } = await import("./emulator/demo.js");
    const client = demoClient(env.PUBLIC_URL ?? "http://localhost:3000", true);
    const accessTokenTtlSeconds = Number(env.EMULATOR_ACCESS_TOKEN_TTL ?? 300);
    const emulator = await startEmulator({
      port: Number(env.EMULATOR_PORT ?? 4000),
      users: [demoUser],
      clients: [client],
      accessTokenTtlSeconds,
    });
    closeEmulator = () => emulator.close();
    Object.assign(env, withEmulator(env, { issuer: emulator.issuer, url: emulator.url, clientId: client.clientId, clientSecret: client.clientSecret }));
    emulatorInfo = { url: emulator.url, poolId: emulator.poolId, email: demoUser.email, password: demoUser.password, accessTokenTtlSeconds };
  }

  const sampleApi = await startSampleApi({
    issuer: env.COGNITO_ISSUER!,
    clientId: env.COGNITO_CLIENT_ID ?? "",
    allowedOrigins: [demoOrigin],
  });
  const { env: serverEnv, sampleRelayed } = withSampleUpstream(env, sampleApi.url);

  const running = await startServer(serverEnv, { devPage: { demoUrl: `${demoOrigin}/` } });
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
    devBanner({
      bffOrigin: running.config.publicUrl.origin,
      demoOrigin,
      sampleApiUrl: sampleApi.url,
      sampleRelayed,
      allowedOrigins: running.config.allowedOrigins,
      ...(emulatorInfo ? { emulator: { ...emulatorInfo, google: running.config.cognito.identityProviders.includes("Google") } } : {}),
    }),
  );
}

main().catch((error: unknown) => {
  console.error(`cognito-bff dev: ${(error as Error)?.message ?? String(error)}`);
  process.exit(1);
});
