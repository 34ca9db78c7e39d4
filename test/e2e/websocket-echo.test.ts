/**
 * The demo's live echo panel in a real browser (headless Chromium): the SPA on
 * its own origin opens a WebSocket to the BFF's `/api/sample/echo`, the BFF
 * relays it to the sample API with the user's bearer token, and each message
 * comes back. The browser sends only its cookie and Origin; the sample API gets
 * the bearer token and none of the BFF's cookies.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SampleApi } from "../../src/dev/sample-api.js";
import type { Emulator } from "../../src/emulator/index.js";
import { launchChromium } from "../helpers/browser.js";
import { startDemoStack, type DemoStack } from "../helpers/demo-stack.js";
import { USER } from "../helpers/harness.js";
import { ROOT } from "../helpers/npm.js";

let stack: DemoStack;
let emu: Emulator;
let sampleApi: SampleApi;
let browser: Browser;
let page: Page;
let demoOrigin: string;

beforeAll(async () => {
  // Two origins on one site (localhost), as app.example.com and bff.example.com: the Lax session cookie goes with the WebSocket.
  stack = await startDemoStack({ emulator: { users: [{ ...USER, emailVerified: true }] }, sampleApi: true });
  ({ emu, demoOrigin } = stack);
  sampleApi = stack.sampleApi!;
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 960, height: 900 } })).newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
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
    const upgraded = stack.logs.map((line) => JSON.parse(line) as { path?: string; status?: number }).filter((l) => l.path === "/api/sample/echo");
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
