/**
 * "Sign in with Google" in a real browser (headless Chromium), issue 14: the
 * demo SPA's button, the BFF with COGNITO_IDENTITY_PROVIDERS=Google, and the
 * emulator's Google consent page, all real servers on 127.0.0.1 (the SPA and
 * the BFF addressed as `localhost`: two origins, one site).
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../src/emulator/index.js";
import { launchChromium } from "../helpers/browser.js";
import { startDemoStack, type DemoStack } from "../helpers/demo-stack.js";

const GOOGLE_ACCOUNT = { sub: "104729301847562910384", email: "grace@gmail.example", name: "Grace Google" };

let stack: DemoStack;
let emu: Emulator;
let browser: Browser;
let page: Page;
let bffOrigin: string;
let demoOrigin: string;
let logs: string[];

beforeAll(async () => {
  stack = await startDemoStack({
    emulator: { googleAccounts: [GOOGLE_ACCOUNT] },
    client: { supportedIdentityProviders: ["COGNITO", "Google"] },
    env: { COGNITO_IDENTITY_PROVIDERS: "Google" },
  });
  ({ emu, bffOrigin, demoOrigin, logs } = stack);
  browser = await launchChromium();
  page = await (await browser.newContext({ viewport: { width: 960, height: 760 } })).newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
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
