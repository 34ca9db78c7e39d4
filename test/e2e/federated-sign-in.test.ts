/**
 * "Sign in with Google" in a real browser (headless Chromium), issue 14: the
 * demo SPA's button, the BFF with COGNITO_IDENTITY_PROVIDERS=Google, and the
 * emulator's Google consent page, all real servers on 127.0.0.1 (the SPA and
 * the BFF addressed as `localhost`: two origins, one site).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type BffApp } from "../../src/app.js";
import { createCognitoGateway, type CognitoGateway } from "../../src/cognito/cognito-gateway.js";
import { loadConfig } from "../../src/config.js";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { createLogger } from "../../src/log.js";
import { launchChromium } from "../helpers/browser.js";
import { CLIENT_ID, CLIENT_SECRET, TEST_SECRET } from "../helpers/harness.js";
import { buildClientPackage } from "../helpers/npm.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GOOGLE_ACCOUNT = { sub: "104729301847562910384", email: "grace@gmail.example", name: "Grace Google" };
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

let emu: Emulator;
let cognito: CognitoGateway;
let bff: BffApp;
let browser: Browser;
let page: Page;
let outDir: string;
let bffOrigin: string;
let demoOrigin: string;
const servers: Server[] = [];
const logs: string[] = [];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://localhost:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  const clientBuilt = buildClientPackage();
  clientBuilt.catch(() => {}); // awaited below; a failure before that must not go unhandled
  emu = await startEmulator({ googleAccounts: [GOOGLE_ACCOUNT] });
  const bffServer = createServer();
  const demoServer = createServer();
  servers.push(bffServer, demoServer);
  bffOrigin = await listen(bffServer);
  demoOrigin = await listen(demoServer);
  emu.addClient({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUris: [`${bffOrigin}/auth/callback/cognito`],
    logoutUris: [`${demoOrigin}/`],
    supportedIdentityProviders: ["COGNITO", "Google"],
  });
  const config = loadConfig({
    NODE_ENV: "test",
    PUBLIC_URL: bffOrigin,
    AUTH_SECRET: TEST_SECRET,
    ALLOWED_ORIGINS: demoOrigin,
    COGNITO_ISSUER: emu.issuer,
    COGNITO_CLIENT_ID: CLIENT_ID,
    COGNITO_CLIENT_SECRET: CLIENT_SECRET,
    COGNITO_DOMAIN: emu.url,
    COGNITO_ENDPOINT: emu.url,
    COGNITO_IDENTITY_PROVIDERS: "Google",
  });
  cognito = createCognitoGateway(config.cognito);
  const log = createLogger({ level: "info", destination: { write: (line: string) => void logs.push(line) } });
  bff = await createApp({ config, cognito, log, now: () => emu.clock.now() });
  bffServer.on("request", bff.app);

  outDir = mkdtempSync(join(tmpdir(), "cognito-bff-federated-"));
  await clientBuilt;
  await build({
    configFile: join(ROOT, "demo/vite.config.ts"),
    logLevel: "silent",
    // No sample API here: its buttons are not pressed.
    define: { __BFF_URL__: JSON.stringify(bffOrigin), __SAMPLE_API_URL__: JSON.stringify("http://127.0.0.1:9") },
    build: { outDir, sourcemap: false },
  });
  demoServer.on("request", (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? "/").split("?")[0]!)).replace(/^(\.\.[/\\])+/, "");
    let file = join(outDir, path);
    if (!file.startsWith(outDir) || !statSync(file, { throwIfNoEntry: false })?.isFile()) file = join(outDir, "index.html");
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
    res.end(readFileSync(file));
  });

  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 960, height: 760 } })).newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  cognito?.destroy();
  await bff?.close();
  await emu?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe("Sign in with Google in the demo SPA", () => {
  it("goes to the emulated Google's consent page, comes back signed in, and shows the federated user and their group; /token works", async () => {
    await page.goto(`${demoOrigin}/`);
    await page.waitForSelector("body[data-state=signed-out]");
    expect(await page.isHidden("#identity")).toBe(true);

    await page.click("#sign-in-google");
    await page.waitForURL(`${emu.url}/_google/**`);
    expect(await page.textContent("#continue")).toBe(`Continue as ${GOOGLE_ACCOUNT.name}`);
    await page.click("#continue");
    await page.waitForURL(`${demoOrigin}/`);
    await page.waitForSelector("body[data-state=signed-in]");
    expect(await page.textContent("#status")).toBe(`Signed in as ${GOOGLE_ACCOUNT.email} (${GOOGLE_ACCOUNT.name})`);
    expect(await page.textContent("#identity")).toBe(`Via Google · groups: ${emu.poolId}_Google`);

    await page.waitForSelector("#token-ttl[data-seconds]");
    const answer = await page.evaluate(async (bffUrl) => {
      const res = await fetch(`${bffUrl}/token`, { credentials: "include", headers: { "X-CSRF": "1" } });
      return { status: res.status, body: (await res.json()) as { access_token: string } };
    }, bffOrigin);
    expect(answer.status).toBe(200);
    const claims = JSON.parse(Buffer.from(answer.body.access_token.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ username: `google_${GOOGLE_ACCOUNT.sub}`, "cognito:groups": [`${emu.poolId}_Google`] });
    expect(logs.join("\n")).not.toContain(answer.body.access_token);
  });
});
