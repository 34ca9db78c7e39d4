/**
 * Integration harness: a real Cognito emulator and a real BFF HTTP server on
 * 127.0.0.1, sharing the emulator's clock, with the BFF's log lines captured
 * for assertions.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp, type BffApp } from "../../src/app.js";
import { createCognitoGateway } from "../../src/cognito/cognito-gateway.js";
import { loadConfig, type Config } from "../../src/config.js";
import { startEmulator, type Emulator, type EmulatorClient, type EmulatorOptions } from "../../src/emulator/index.js";
import { createLogger } from "../../src/log.js";
import { createMetrics, observeCognitoCalls } from "../../src/metrics.js";
import { createRedisClients } from "../../src/redis.js";
import { startTracing } from "../../src/tracing.js";
import { CookieJar, parseForm } from "./cookie-jar.js";

export const TEST_SECRET = "integration-test-secret-0123456789abcdef";
export const USER = {
  username: "7d4e2a9c-0b1f-4c3e-9a8d-5f6e7a8b9c0d",
  email: "ada@example.com",
  password: "Correct-Horse-9",
};
export const CLIENT_ID = "bffclient1234567890";
export const CLIENT_SECRET = "bff-client-secret-0123456789abcdefghijklmnop";

export interface Bff {
  url: string;
  config: Config;
  bff: BffApp;
  logs: string[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Coordinate through this Redis (e.g. redis://127.0.0.1:6379) with a key prefix unique to the harness. */
  redisUrl?: string;
  client?: Partial<EmulatorClient>;
  emulator?: EmulatorOptions;
  /** `false`: Express's router answers `/token*` and `/api/*` too (createApp's `fastLane`), to compare with the fast lane. */
  fastLane?: boolean;
}

export interface Harness {
  emu: Emulator;
  bff: Bff;
  /** Starts one more BFF on the same emulator (several replicas). */
  startBff(env?: Record<string, string>): Promise<Bff>;
  /** The Redis key prefix of this harness's BFFs (with `redisUrl`). */
  redisPrefix: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const emu = await startEmulator({ users: [{ ...USER, emailVerified: true }], ...options.emulator });
  const bffs: Bff[] = [];
  const { redisUrl } = options;
  // A unique prefix per harness: runs and tests never see each other's keys.
  const redisPrefix = `cognito-bff-test:${randomUUID()}:`;

  async function startBff(extraEnv: Record<string, string> = {}): Promise<Bff> {
    const server = createServer();
    const url = await listen(server);
    // Every BFF of a harness is registered with the emulator; the first one's client carries the options.
    emu.addClient({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUris: [...bffs.map((b) => `${b.url}/auth/callback/cognito`), `${url}/auth/callback/cognito`],
      logoutUris: [`${url}/`],
      ...options.client,
    });
    const config = loadConfig({
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      PUBLIC_URL: url,
      AUTH_SECRET: TEST_SECRET,
      COGNITO_ISSUER: emu.issuer,
      COGNITO_CLIENT_ID: CLIENT_ID,
      ...(options.client && "clientSecret" in options.client && !options.client.clientSecret ? {} : { COGNITO_CLIENT_SECRET: CLIENT_SECRET }),
      COGNITO_DOMAIN: emu.url,
      COGNITO_ENDPOINT: emu.url,
      COGNITO_TIMEOUT_MS: "2000",
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
      ...options.env,
      ...extraEnv,
    });
    const logs: string[] = [];
    const log = createLogger({ level: "info", destination: { write: (line: string) => void logs.push(line) } });
    // Wired like server.ts: Cognito calls and their failures are counted.
    const metrics = createMetrics();
    // Wired like embed.ts: tracing when the env names an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT), else off.
    const tracing = await startTracing(config.tracing, log);
    const cognito = createCognitoGateway(config.cognito, { observe: observeCognitoCalls(metrics), tracing });
    // A replica may reach the same Redis another way (REDIS_URL in `extraEnv`, e.g. through a TCP proxy the test cuts).
    const replicaRedisUrl = extraEnv.REDIS_URL ?? redisUrl;
    const redis = replicaRedisUrl ? createRedisClients({ url: replicaRedisUrl, keyPrefix: redisPrefix, mode: config.redisMode, sentinelMaster: config.redisSentinelMaster }) : undefined;
    const bff = await createApp({
      config,
      cognito,
      log,
      metrics,
      now: () => emu.clock.now(),
      tracing,
      ...(redis ? { redis } : {}),
      ...(options.fastLane === false ? { fastLane: false } : {}),
    });
    server.on("request", bff.app);
    server.on("upgrade", bff.upgrade);
    const entry: Bff = {
      url,
      config,
      bff,
      logs,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        cognito.destroy();
        await bff.close();
        await tracing.shutdown();
      },
    };
    bffs.push(entry);
    return entry;
  }

  const bff = await startBff();
  return {
    emu,
    bff,
    startBff,
    redisPrefix,
    async close() {
      await Promise.all(bffs.map((b) => b.close()));
      await emu.close();
      // A cluster's or sentinels' URL list: those servers are the test's own and go away with it.
      if (redisUrl && !redisUrl.includes(",") && !options.env?.REDIS_MODE) await deleteKeys(redisUrl, redisPrefix);
    },
  };
}

/** A port on 127.0.0.1 that was free a moment ago (for a server the test starts as a separate process). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The environment of a BFF on `url` wired to the emulator with the harness's client, for startServer() or a child process. */
export function serverEnv(emu: Emulator, url: string): Record<string, string> {
  return {
    NODE_ENV: "test",
    PORT: new URL(url).port,
    PUBLIC_URL: url,
    AUTH_SECRET: TEST_SECRET,
    COGNITO_ISSUER: emu.issuer,
    COGNITO_CLIENT_ID: CLIENT_ID,
    COGNITO_CLIENT_SECRET: CLIENT_SECRET,
    COGNITO_DOMAIN: emu.url,
    COGNITO_ENDPOINT: emu.url,
  };
}

/** Removes what a harness left in the shared Redis (revocation lists, results); best effort. */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  redis.on("error", () => {});
  try {
    await redis.connect();
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // Tests that point the BFF at a closed port have no keys to remove.
  } finally {
    redis.disconnect();
  }
}

/** Sees each of the BFF's own answers during {@link signIn} (a copy; the body can be read). */
export type InspectSignIn = (step: "csrf" | "signin" | "callback", response: Response) => Promise<unknown>;

/**
 * Signs in through the Auth.js routes and the emulator's Hosted UI form, like a
 * browser: csrf -> signin POST -> authorize -> login form POST -> callback.
 * Returns the jar holding the session cookie.
 */
export async function signIn(bffUrl: string, user = USER, jar = new CookieJar(), inspect?: InspectSignIn): Promise<CookieJar> {
  const csrf = await jar.fetch(`${bffUrl}/auth/csrf`);
  await inspect?.("csrf", csrf.clone());
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const start = await jar.fetch(`${bffUrl}/auth/signin/cognito`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrfToken, callbackUrl: `${bffUrl}/` }),
  });
  await inspect?.("signin", start.clone());
  expectRedirect(start, "signin");
  const authorizeUrl = start.headers.get("location")!;
  const page = await jar.fetch(authorizeUrl);
  if (page.status !== 200) throw new Error(`authorize answered ${page.status}: ${await page.text()}`);
  const { action, fields } = parseForm(await page.text(), authorizeUrl);
  for (const name of Object.keys(fields)) {
    if (/user|email/i.test(name)) fields[name] = user.email;
    if (/pass/i.test(name)) fields[name] = user.password;
  }
  const login = await jar.fetch(action, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  expectRedirect(login, "login");
  const callback = await jar.fetch(login.headers.get("location")!);
  await inspect?.("callback", callback.clone());
  expectRedirect(callback, "callback");
  if (jar.sessionCookieNames().length === 0) throw new Error(`no session cookie after callback to ${callback.headers.get("location")}`);
  return jar;
}

function expectRedirect(response: Response, step: string): void {
  if (response.status !== 302 && response.status !== 303) {
    throw new Error(`${step}: expected a redirect, got ${response.status}`);
  }
}

/** GET /token (or another method/path) the way the SPA calls it. */
export function callToken(jar: CookieJar, bffUrl: string, path = "/token", init: RequestInit = {}): Promise<Response> {
  return jar.fetch(`${bffUrl}${path}`, { ...init, headers: { "X-CSRF": "1", ...(init.headers as Record<string, string>) } });
}

/** Signs out through Auth.js the way the browser client does: the CSRF token, then the form post (plus `fields`). */
export async function signOut(bffUrl: string, jar: CookieJar, callbackUrl = `${bffUrl}/`, fields: Record<string, string> = {}): Promise<Response> {
  const { csrfToken } = (await (await jar.fetch(`${bffUrl}/auth/csrf`)).json()) as { csrfToken: string };
  return jar.fetch(`${bffUrl}/auth/signout`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ ...fields, csrfToken, callbackUrl }),
  });
}

/** Polls until `check` holds or `ms` pass; returns how long it took. */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - started;
}

/** A request to `/token` (or `path`) carrying a copied Cookie header, the way a replayed cookie arrives. */
export function replay(bff: { url: string }, cookie: string, path = "/token", method = "GET"): Promise<Response> {
  return fetch(`${bff.url}${path}`, { method, headers: { cookie, "x-csrf": "1" } });
}
