/**
 * What the e2e tests drive in Chromium: the Cognito emulator, the BFF
 * (createApp, on a real HTTP server, upgrades included) and the demo SPA built
 * with Vite against them and served from its own origin, all on 127.0.0.1; the
 * SPA and the BFF are addressed as `localhost` (two origins, one site, as
 * app.example.com and bff.example.com). Optionally the dev sample API, relayed
 * as the upstream `sample`.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { build } from "vite";
import { createApp, type BffApp } from "../../src/app.js";
import { createCognitoGateway, type CognitoGateway } from "../../src/cognito/cognito-gateway.js";
import { loadConfig } from "../../src/config.js";
import { startSampleApi, type SampleApi } from "../../src/dev/sample-api.js";
import { startEmulator, type Emulator, type EmulatorClient, type EmulatorOptions } from "../../src/emulator/index.js";
import { createLogger } from "../../src/log.js";
import { CLIENT_ID, CLIENT_SECRET, TEST_SECRET } from "./harness.js";
import { buildClientPackage, ROOT } from "./npm.js";

const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".map": "application/json" };

export interface DemoStackOptions {
  emulator: EmulatorOptions;
  /** More of the app client's settings (e.g. `supportedIdentityProviders`). */
  client?: Partial<EmulatorClient>;
  /** More of the BFF's environment. */
  env?: Record<string, string>;
  /** Start the dev sample API and relay it as `/api/sample/` (otherwise the demo's sample buttons point nowhere). */
  sampleApi?: boolean;
}

export interface DemoStack {
  emu: Emulator;
  bff: BffApp;
  sampleApi: SampleApi | undefined;
  bffOrigin: string;
  demoOrigin: string;
  /** The BFF's log lines. */
  logs: string[];
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 and returns the server's origin as `http://localhost:<port>`. */
export async function listenOnLocalhost(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://localhost:${(server.address() as AddressInfo).port}`;
}

/** Serves a built SPA from `dir` (index.html for every path without a file). */
function serveStatic(dir: string): RequestListener {
  return (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? "/").split("?")[0]!)).replace(/^(\.\.[/\\])+/, "");
    let file = join(dir, path);
    if (!file.startsWith(dir) || !statSync(file, { throwIfNoEntry: false })?.isFile()) file = join(dir, "index.html");
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
    res.end(readFileSync(file));
  };
}

export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  // The demo is bundled with @cognito-bff/client as it ships (its dist/, through the workspace link), built from the tree now.
  const clientBuilt = buildClientPackage();
  clientBuilt.catch(() => {}); // awaited below; a failure before that must not go unhandled
  const servers = [createServer(), createServer()];
  const [bffServer, demoServer] = servers as [Server, Server];
  const logs: string[] = [];
  let emu: Emulator | undefined;
  let cognito: CognitoGateway | undefined;
  let bff: BffApp | undefined;
  let sampleApi: SampleApi | undefined;
  let outDir: string | undefined;
  const close = async () => {
    for (const server of servers) {
      server.closeAllConnections();
      if (server.listening) await new Promise((resolve) => server.close(resolve));
    }
    cognito?.destroy();
    await bff?.close();
    await sampleApi?.close();
    await emu?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  };
  try {
    emu = await startEmulator(options.emulator);
    const bffOrigin = await listenOnLocalhost(bffServer);
    const demoOrigin = await listenOnLocalhost(demoServer);
    const clock = emu.clock;
    if (options.sampleApi) {
      sampleApi = await startSampleApi({ issuer: emu.issuer, clientId: CLIENT_ID, allowedOrigins: [demoOrigin], now: () => clock.now() });
    }
    emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${bffOrigin}/auth/callback/cognito`], logoutUris: [`${demoOrigin}/`], ...options.client });
    const config = loadConfig({
      NODE_ENV: "test",
      PUBLIC_URL: bffOrigin,
      AUTH_SECRET: TEST_SECRET,
      ALLOWED_ORIGINS: demoOrigin,
      ...(sampleApi ? { UPSTREAMS: JSON.stringify({ sample: { url: sampleApi.url, token: "user" } }) } : {}),
      COGNITO_ISSUER: emu.issuer,
      COGNITO_CLIENT_ID: CLIENT_ID,
      COGNITO_CLIENT_SECRET: CLIENT_SECRET,
      COGNITO_DOMAIN: emu.url,
      COGNITO_ENDPOINT: emu.url,
      ...options.env,
    });
    cognito = createCognitoGateway(config.cognito);
    const log = createLogger({ level: "info", destination: { write: (line: string) => void logs.push(line) } });
    bff = await createApp({ config, cognito, log, now: () => clock.now() });
    bffServer.on("request", bff.app);
    bffServer.on("upgrade", bff.upgrade);

    outDir = mkdtempSync(join(tmpdir(), "cognito-bff-demo-"));
    await clientBuilt;
    await build({
      configFile: join(ROOT, "demo/vite.config.ts"),
      logLevel: "silent",
      // Without the sample API its buttons point at a closed port; they are not pressed then.
      define: { __BFF_URL__: JSON.stringify(bffOrigin), __SAMPLE_API_URL__: JSON.stringify(sampleApi?.url ?? "http://127.0.0.1:9") },
      build: { outDir, sourcemap: false },
    });
    demoServer.on("request", serveStatic(outDir));
    return { emu, bff, sampleApi, bffOrigin, demoOrigin, logs, close };
  } catch (error) {
    await close();
    throw error;
  }
}
