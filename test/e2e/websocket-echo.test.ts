/**
 * The demo's live echo panel in a real browser (headless Chromium): the SPA on
 * its own origin opens a WebSocket to the BFF's `/api/sample/echo`, the BFF
 * relays it to the sample API with the user's bearer token, and each message
 * comes back. The browser sends only its cookie and Origin; the sample API gets
 * the bearer token and none of the BFF's cookies.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
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
import { startSampleApi, type SampleApi } from "../../src/dev/sample-api.js";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { createLogger } from "../../src/log.js";
import { launchChromium } from "../helpers/browser.js";
import { CLIENT_ID, CLIENT_SECRET, TEST_SECRET, USER } from "../helpers/harness.js";
import { buildClientPackage } from "../helpers/npm.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Serves the built SPA from `dir` (index.html for every path without a file). */
function serveStatic(dir: string): (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void {
  return (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? "/").split("?")[0]!)).replace(/^(\.\.[/\\])+/, "");
    let file = join(dir, path);
    if (!file.startsWith(dir) || !statSync(file, { throwIfNoEntry: false })?.isFile()) file = join(dir, "index.html");
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
    res.end(readFileSync(file));
  };
}

let emu: Emulator;
let cognito: CognitoGateway;
let bff: BffApp;
let sampleApi: SampleApi;
let browser: Browser;
let page: Page;
let outDir: string;
const servers: Server[] = [];
const logs: string[] = [];
let bffOrigin: string;
let demoOrigin: string;

beforeAll(async () => {
  const clientBuilt = buildClientPackage();
  clientBuilt.catch(() => {}); // awaited below
  emu = await startEmulator({ users: [{ ...USER, emailVerified: true }] });
  const bffServer = createServer();
  const demoServer = createServer();
  servers.push(bffServer, demoServer);
  // Two origins on one site (localhost), as app.example.com and bff.example.com: the Lax session cookie goes with the WebSocket.
  bffOrigin = `http://localhost:${await listen(bffServer)}`;
  demoOrigin = `http://localhost:${await listen(demoServer)}`;
  sampleApi = await startSampleApi({ issuer: emu.issuer, clientId: CLIENT_ID, allowedOrigins: [demoOrigin], now: () => emu.clock.now() });
  emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${bffOrigin}/auth/callback/cognito`], logoutUris: [`${demoOrigin}/`] });
  const config = loadConfig({
    NODE_ENV: "test",
    PUBLIC_URL: bffOrigin,
    AUTH_SECRET: TEST_SECRET,
    ALLOWED_ORIGINS: demoOrigin,
    UPSTREAMS: JSON.stringify({ sample: { url: sampleApi.url, token: "user" } }),
    COGNITO_ISSUER: emu.issuer,
    COGNITO_CLIENT_ID: CLIENT_ID,
    COGNITO_CLIENT_SECRET: CLIENT_SECRET,
    COGNITO_DOMAIN: emu.url,
    COGNITO_ENDPOINT: emu.url,
  });
  cognito = createCognitoGateway(config.cognito);
  const log = createLogger({ level: "info", destination: { write: (line: string) => void logs.push(line) } });
  bff = await createApp({ config, cognito, log, now: () => emu.clock.now() });
  bffServer.on("request", bff.app);
  bffServer.on("upgrade", bff.upgrade);

  outDir = mkdtempSync(join(tmpdir(), "cognito-bff-ws-demo-"));
  await clientBuilt;
  await build({
    configFile: join(ROOT, "demo/vite.config.ts"),
    logLevel: "silent",
    define: { __BFF_URL__: JSON.stringify(bffOrigin), __SAMPLE_API_URL__: JSON.stringify(sampleApi.url) },
    build: { outDir, sourcemap: false },
  });
  demoServer.on("request", serveStatic(outDir));
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 960, height: 900 } })).newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  cognito?.destroy();
  await bff?.close();
  await sampleApi?.close();
  await emu?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe("the demo's live echo panel", () => {
  it("is disabled signed out; signed in, it connects through the BFF and each message comes back", async () => {
    await page.goto(`${demoOrigin}/`);
    await page.waitForSelector("body[data-state=signed-out]");
    expect(await page.isDisabled("#ws-connect")).toBe(true);

    await page.click("#sign-in");
    await page.waitForURL(`${emu.url}/oauth2/authorize?**`);
    await page.fill("#username", USER.email);
    await page.fill("#password", USER.password);
    await page.click("button[type=submit]");
    await page.waitForURL(`${demoOrigin}/`);
    await page.waitForSelector("body[data-state=signed-in]");

    await page.click("#ws-connect");
    await page.waitForSelector("#ws-panel[data-ws=open]", { timeout: 5000 });
    await page.fill("#ws-message", "hello through the BFF");
    await page.click("#ws-send");
    await page.waitForSelector("#ws-log li.ws-echo", { timeout: 5000 });
    expect(await page.textContent("#ws-log li.ws-echo")).toBe("← hello through the BFF");
    // Not committed: test-results/ (as spa-journey's ordinary runs), to look at the panel.
    mkdirSync(join(ROOT, "test-results/screenshots"), { recursive: true });
    await page.screenshot({ path: join(ROOT, "test-results/screenshots/ws-echo.png"), fullPage: true });

    // The upstream got the user's bearer token (it verified it) and no cookie of the BFF's.
    expect(sampleApi.webSockets).toHaveLength(1);
    expect(sampleApi.webSockets[0]!.username).toBe(USER.username);
    expect(sampleApi.webSockets[0]!.cookieNames.filter((name) => name.includes("authjs"))).toEqual([]);
    const upgraded = logs.map((line) => JSON.parse(line) as { path?: string; status?: number }).filter((l) => l.path === "/api/sample/echo");
    expect(upgraded).toMatchObject([{ status: 101 }]);
  });

  it("disconnects with a close the page sees, and again when the user signs out", async () => {
    await page.click("#ws-disconnect");
    await page.waitForSelector("#ws-panel[data-ws=closed]", { timeout: 5000 });
    expect(await page.textContent("#ws-log li:last-child")).toBe("· closed (1000 bye)");

    await page.click("#ws-connect");
    await page.waitForSelector("#ws-panel[data-ws=open]", { timeout: 5000 });
    expect(sampleApi.webSockets).toHaveLength(2);
    await page.click("#sign-out");
    await page.waitForSelector("body[data-state=signed-out]", { timeout: 10_000 });
    await page.waitForSelector("#ws-panel[data-ws=closed]", { timeout: 5000 });
    expect(await page.isDisabled("#ws-connect")).toBe(true);
  });
});
