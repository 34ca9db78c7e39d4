/**
 * `client` upstreams spend the BFF's own machine credentials: on the public
 * port they serve signed-in sessions only; services without a session call them
 * on the internal listener (INTERNAL_PORT), which also takes /metrics, /readyz
 * and /admin/* off the public port. Through the real server (server.ts).
 */
import { afterEach, describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { CookieJar } from "../helpers/cookie-jar.js";
import { CLIENT_ID, CLIENT_SECRET, freePort, serverEnv, signIn, USER } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

const ADMIN_SECRET = "admin-secret-for-tests-0123456789abcdefXYZ";

let emu: Emulator | undefined;
let running: RunningServer | undefined;
let upstreams: Upstream[] = [];
afterEach(async () => {
  await running?.close();
  await emu?.close();
  await Promise.all(upstreams.map((u) => u.close()));
  running = undefined;
  emu = undefined;
  upstreams = [];
});

async function start(env: Record<string, string> = {}) {
  emu = await startEmulator({ users: [{ ...USER, emailVerified: true }] });
  const reports = await startUpstream();
  const orders = await startUpstream();
  upstreams.push(reports, orders);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  emu.addClient({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUris: [`${url}/auth/callback/cognito`],
    logoutUris: [`${url}/`],
    clientCredentialsScopes: ["reports/read"],
  });
  running = await startServer(
    {
      ...serverEnv(emu, url),
      LOG_LEVEL: "silent",
      ADMIN_SECRET,
      UPSTREAMS: JSON.stringify({ reports: { url: reports.url, token: "client", scopes: ["reports/read"] }, orders: { url: orders.url, token: "user" } }),
      ...env,
    },
    { host: "127.0.0.1" },
  );
  return { running, reports, orders, url };
}

const csrf = { "x-csrf": "1" };

describe("client upstreams on the public port", () => {
  it("without a session: 401 unauthenticated and the upstream is not called; with one: relayed with the BFF's client token", async () => {
    const { reports, url } = await start();
    const anonymous = await fetch(`${url}/api/reports/daily`, { headers: csrf });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: "unauthenticated" });
    expect(reports.seen).toHaveLength(0);
    expect(emu!.calls("token:client_credentials")).toBe(0);

    const jar = await signIn(url);
    const signedIn = await jar.fetch(`${url}/api/reports/daily`, { headers: csrf });
    expect(signedIn.status).toBe(200);
    expect(decodeJwt(reports.seen[0]!.headers.authorization!.replace(/^Bearer /, ""))).toMatchObject({ client_id: CLIENT_ID, token_use: "access" });
  });
});

describe("INTERNAL_PORT", () => {
  it("serves client upstreams to services without a session or browser rules, and /metrics, /readyz, /admin; the public port no longer does", async () => {
    const internalPort = await freePort();
    const { reports, orders, url } = await start({ INTERNAL_PORT: String(internalPort) });
    const internal = running!.internalAddress!;
    expect(internal).toBe(`http://127.0.0.1:${internalPort}`);

    // A service: no cookie, no X-CSRF.
    const service = await fetch(`${internal}/api/reports/daily`);
    expect(service.status).toBe(200);
    expect(reports.seen).toHaveLength(1);
    // Only client upstreams: a user upstream needs a browser session, which only the public port has.
    expect((await fetch(`${internal}/api/orders/1`)).status).toBe(404);
    expect(orders.seen).toHaveLength(0);
    expect((await fetch(`${internal}/metrics`)).status).toBe(200);
    expect((await fetch(`${internal}/readyz`)).status).toBe(200);
    expect((await fetch(`${internal}/healthz`)).status).toBe(200);
    const revoke = await fetch(`${internal}/admin/users/another-user-sub/sessions/revoke`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_SECRET}` } });
    expect(revoke.status).toBe(200);
    // Nothing a browser uses is on the internal port.
    expect((await fetch(`${internal}/token`, { headers: csrf })).status).toBe(404);
    expect((await fetch(`${internal}/auth/session`)).status).toBe(404);

    // The public port: no operations endpoints, client upstreams for sessions only.
    for (const path of ["/metrics", "/readyz"]) expect((await fetch(`${url}${path}`)).status, path).toBe(404);
    expect((await fetch(`${url}/admin/users/${USER.username}/sessions/revoke`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_SECRET}` } })).status).toBe(404);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/api/reports/daily`, { headers: csrf })).status).toBe(401);
    const jar = await signIn(url, USER, new CookieJar());
    expect((await jar.fetch(`${url}/api/orders/1`, { headers: csrf })).status).toBe(200);
  });
});
