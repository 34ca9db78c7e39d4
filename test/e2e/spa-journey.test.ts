/**
 * The whole SPA journey in a real browser (headless Chromium): the demo SPA on
 * its own origin, the BFF, the Cognito emulator and the sample API, all real
 * servers on 127.0.0.1. The SPA and the BFF are addressed as `localhost` (two
 * origins, one site), so the BFF's SameSite=Lax cookie travels with the SPA's
 * cross-origin calls, exactly as for app.example.com and bff.example.com.
 * Saves screenshots of the demo's main states in test-results/screenshots/
 * (UPDATE_SCREENSHOTS=1: in docs/screenshots/, the ones the README shows).
 */
import { mkdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BffApp } from "../../src/app.js";
import type { SampleApi } from "../../src/dev/sample-api.js";
import type { Emulator } from "../../src/emulator/index.js";
import { launchChromium } from "../helpers/browser.js";
import { listenOnLocalhost, startDemoStack, type DemoStack } from "../helpers/demo-stack.js";
import { USER } from "../helpers/harness.js";
import { ROOT } from "../helpers/npm.js";

// The committed README pictures change only when asked; an ordinary run leaves the tree clean.
const SCREENSHOTS = join(ROOT, process.env.UPDATE_SCREENSHOTS ? "docs/screenshots" : "test-results/screenshots");
const TOKEN_TTL = 300;

let stack: DemoStack;
let emu: Emulator;
let bff: BffApp;
let sampleApi: SampleApi;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let otherTab: Page;
let foreignServer: Server;
let logs: string[];
/** Every access token the browser received from GET /token. */
const tokensSeen = new Set<string>();
let bffOrigin: string;
let demoOrigin: string;
let foreignOrigin: string;

const signedIn = (p: Page) => p.waitForSelector("body[data-state=signed-in]");
const signedOut = (p: Page) => p.waitForSelector("body[data-state=signed-out]");
const tokenId = (p: Page) => p.textContent("#token-id");
const shot = (p: Page, name: string) => p.screenshot({ path: join(SCREENSHOTS, name), fullPage: true });
const refreshCalls = () => emu.calls("InitiateAuth") + emu.calls("GetTokensFromRefreshToken") + emu.calls("token:refresh_token");
const bffRequests = (method: string, path: string) =>
  logs.map((line) => JSON.parse(line) as { method?: string; path?: string }).filter((l) => l.method === method && l.path === path).length;

beforeAll(async () => {
  stack = await startDemoStack({
    emulator: { users: [{ ...USER, emailVerified: true, attributes: { name: "Ada Lovelace" } }], accessTokenTtlSeconds: TOKEN_TTL },
    sampleApi: true,
  });
  ({ emu, bff, bffOrigin, demoOrigin, logs } = stack);
  sampleApi = stack.sampleApi!;
  foreignServer = createServer((_req, res) => void res.writeHead(200, { "Content-Type": "text/html" }).end("<!doctype html><title>elsewhere</title>"));
  foreignOrigin = await listenOnLocalhost(foreignServer);

  mkdirSync(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 960, height: 760 } });
  // The pages' clocks are moved with the emulator's, as if five minutes really passed.
  await context.clock.install();
  context.on("response", (response) => {
    if (new URL(response.url()).pathname === "/token" && response.status() === 200) {
      // A response whose page navigated away has no body any more; the others are enough.
      response.json().then(
        (body: { access_token: string }) => tokensSeen.add(body.access_token),
        () => undefined,
      );
    }
  });
  page = await context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  foreignServer?.closeAllConnections();
  if (foreignServer?.listening) await new Promise((resolve) => foreignServer.close(resolve));
  await stack?.close();
});

describe("the demo SPA in a real browser", () => {
  it("signs in through the Hosted UI form and shows the user and the token's remaining life", async () => {
    await page.goto(`${demoOrigin}/`);
    await signedOut(page);
    expect(await page.textContent("#status")).toBe("Signed out.");
    await shot(page, "1-signed-out.png");

    await page.click("#sign-in");
    await page.waitForURL(`${emu.url}/oauth2/authorize?**`);
    await page.fill("#username", USER.email);
    await page.fill("#password", USER.password);
    await page.click("button[type=submit]");
    await page.waitForURL(`${demoOrigin}/`);
    await signedIn(page);
    expect(await page.textContent("#status")).toBe(`Signed in as ${USER.email} (Ada Lovelace)`);
    await page.waitForSelector("#token-ttl[data-seconds]");
    const seconds = Number(await page.getAttribute("#token-ttl", "data-seconds"));
    expect(seconds).toBeGreaterThan(TOKEN_TTL - 10);
    expect(seconds).toBeLessThanOrEqual(TOKEN_TTL);
    expect(await tokenId(page)).toMatch(/^[\w-]{8,}$/);
    await shot(page, "2-signed-in.png");
  });

  it("calls the sample API through the BFF's /api/ relay and directly with the bearer token", async () => {
    await page.click("#call-bff");
    await page.waitForFunction(() => document.getElementById("api-result")!.textContent!.startsWith("200"), undefined, { timeout: 5000 });
    const relayed = JSON.parse((await page.textContent("#api-result"))!.replace(/^200\n/, "")) as Record<string, unknown>;
    expect(relayed).toMatchObject({ via: "bff", path: "/hello", sub: USER.username, username: USER.username });

    await page.click("#call-direct");
    await page.waitForFunction(() => document.getElementById("api-result")!.textContent!.includes('"via": "direct"'), undefined, { timeout: 5000 });
    const direct = JSON.parse((await page.textContent("#api-result"))!.replace(/^200\n/, "")) as Record<string, unknown>;
    expect(direct).toMatchObject({ via: "direct", path: "/hello", sub: USER.username });
    expect(sampleApi.served).toEqual({ direct: 1, relayed: 1 });
    await shot(page, "3-api-call.png");
  });

  it("after expiry, two open tabs get the new token from exactly one refresh", async () => {
    otherTab = await context.newPage();
    await otherTab.goto(`${demoOrigin}/`);
    await signedIn(otherTab);
    await otherTab.waitForSelector("#token-ttl[data-seconds]");
    const before = await tokenId(page);
    expect(await tokenId(otherTab)).toBe(before);

    emu.resetCalls();
    const tokenGetsBefore = bffRequests("GET", "/token");
    emu.clock.advance(TOKEN_TTL + 5);
    await context.clock.fastForward((TOKEN_TTL + 5) * 1000);

    for (const tab of [page, otherTab]) {
      await tab.waitForFunction((old) => {
        const id = document.getElementById("token-id")!.textContent;
        return id !== old && id !== "–";
      }, before, { timeout: 10_000 });
    }
    const after = await tokenId(page);
    expect(await tokenId(otherTab)).toBe(after);
    expect(Number(await page.getAttribute("#token-ttl", "data-seconds"))).toBeGreaterThan(TOKEN_TTL - 10);
    expect(refreshCalls()).toBe(1);
    expect(bffRequests("GET", "/token") - tokenGetsBefore).toBe(1);
  });

  it("a page on an origin not in ALLOWED_ORIGINS cannot read /token or the session, even on the same site", async () => {
    const foreign = await context.newPage();
    await foreign.goto(`${foreignOrigin}/`);
    const outcome = await foreign.evaluate(async (bffUrl) => {
      const attempt = (path: string, init: RequestInit) =>
        fetch(`${bffUrl}${path}`, { credentials: "include", ...init }).then(
          async (r) => `read ${r.status}: ${await r.text()}`,
          (e: Error) => `blocked: ${e.name}`,
        );
      return {
        token: await attempt("/token", { headers: { "X-CSRF": "1" } }),
        tokenWithoutCsrf: await attempt("/token", {}),
        session: await attempt("/auth/session", {}),
      };
    }, bffOrigin);
    expect(outcome).toEqual({ token: "blocked: TypeError", tokenWithoutCsrf: "blocked: TypeError", session: "blocked: TypeError" });
    // The same call from the demo's origin is answered: the difference is the origin alone.
    const fromDemo = await page.evaluate(
      (bffUrl) => fetch(`${bffUrl}/token`, { credentials: "include", headers: { "X-CSRF": "1" } }).then((r) => r.status),
      bffOrigin,
    );
    expect(fromDemo).toBe(200);
    await foreign.close();
  });

  it("signs out in one tab: both tabs show it, and the refresh token is revoked at Cognito", async () => {
    const cookies = await context.cookies(bffOrigin);
    const cookieHeader = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    const { session } = await bff.sessions.read(cookieHeader);
    const refreshToken = session!.refresh_token;
    expect(emu.refreshTokenState(refreshToken)).toBe("active");

    // The page is at the demo's URL before and after: wait for the sign-out's own answer, not for the URL
    // (waiting for the URL raced the form post, and the revocation was checked before it had happened).
    const signOutAnswered = page.waitForResponse((response) => response.url().startsWith(`${bffOrigin}/auth/signout`));
    await page.click("#sign-out");
    await signOutAnswered;
    await signedOut(otherTab);
    await page.waitForURL(`${demoOrigin}/`);
    await signedOut(page);
    expect(emu.refreshTokenState(refreshToken)).toBe("revoked");
    expect(emu.calls("RevokeToken")).toBe(1);
    expect(await page.textContent("#token-ttl")).toBe("–");
    expect((await context.cookies(bffOrigin)).filter((c) => c.name.includes("session-token"))).toEqual([]);
    await shot(page, "4-signed-out-again.png");

    // No token, refresh token or cookie value ever reached the BFF's log.
    const log = logs.join("\n");
    expect(tokensSeen.size).toBeGreaterThanOrEqual(2);
    for (const secret of [...tokensSeen, refreshToken, ...cookies.map((c) => c.value)]) expect(log).not.toContain(secret);
  });
});
