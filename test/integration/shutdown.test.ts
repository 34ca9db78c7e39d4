/**
 * Graceful shutdown of the real process entry (`src/server.ts` in a child
 * process): SIGTERM under steady keep-alive load, with a slow refresh in
 * flight, fails no request sent before the signal, exits 0 well before the
 * deadline, and leaves no Redis connection behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { callToken, CLIENT_ID, CLIENT_SECRET, freePort, serverEnv, signIn, USER } from "../helpers/harness.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const root = new URL("../../", import.meta.url);

let emu: Emulator;
let child: ChildProcess | undefined;
const redis = new Redis(REDIS_URL, { lazyConnect: true });

beforeAll(async () => {
  emu = await startEmulator({ users: [{ ...USER, emailVerified: true }] });
  await redis.connect();
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  redis.disconnect();
  await emu?.close();
});


async function redisConnectionsNamed(name: string): Promise<number> {
  const list = (await redis.client("LIST")) as string;
  return list.split("\n").filter((line) => line.includes(` name=${name} `)).length;
}

interface Outcome {
  startedAt: number;
  ok: boolean;
  detail: string;
}

describe("SIGTERM", () => {
  it("drains in-flight and keep-alive requests without failing one, closes Redis, and exits 0", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const connectionName = `bff-shutdown-${randomUUID().slice(0, 8)}`;
    emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [`${url}/`] });

    const output: string[] = [];
    child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        ...serverEnv(emu, url),
        REDIS_URL: `${REDIS_URL}?connectionName=${connectionName}`,
        REDIS_KEY_PREFIX: `cognito-bff-test:${randomUUID()}:`,
        // Its "slow" forced refresh must reach the (slow) emulator, young token or not.
        REFRESH_MIN_INTERVAL_SECONDS: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child!.once("exit", (code) => resolve({ code, at: performance.now() })));

    const until = Date.now() + 15_000;
    while (!output.join("").includes('"msg":"listening"')) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`server did not start:\n${output.join("")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const jar = await signIn(url);
    expect(await redisConnectionsNamed(connectionName)).toBeGreaterThan(0);

    // Steady load: 8 keep-alive clients calling GET /token back to back.
    const outcomes: Outcome[] = [];
    let stopLoad = false;
    const record = async (run: () => Promise<Response>) => {
      const startedAt = performance.now();
      try {
        const response = await run();
        await response.text();
        outcomes.push({ startedAt, ok: response.status === 200, detail: String(response.status) });
        return response.status === 200;
      } catch (error) {
        outcomes.push({ startedAt, ok: false, detail: String((error as Error).cause ?? error) });
        return false;
      }
    };
    const workers = Array.from({ length: 8 }, async () => {
      while (!stopLoad) {
        // After the signal new connections are refused; do not spin on that.
        if (!(await record(() => callToken(jar, url)))) await new Promise((r) => setTimeout(r, 20));
      }
    });

    // A slow request: a forced refresh while Cognito takes 1.5 s to answer.
    await new Promise((r) => setTimeout(r, 500));
    emu.fault("InitiateAuth", { delayMs: 1500, times: 1 });
    const slow = record(() => callToken(jar.clone(), url, "/token/refresh", { method: "POST" }));
    await new Promise((r) => setTimeout(r, 300));

    const signalAt = performance.now();
    child.kill("SIGTERM");
    // Load goes on after the signal, longer than the drain should take; those requests may be refused.
    await new Promise((r) => setTimeout(r, 3000));
    stopLoad = true;
    await Promise.all([...workers, slow]);
    const { code, at } = await exited;

    const beforeSignal = outcomes.filter((o) => o.startedAt < signalAt);
    const failed = beforeSignal.filter((o) => !o.ok);
    expect(beforeSignal.length).toBeGreaterThan(50);
    expect(failed).toEqual([]);
    const slowOutcome = outcomes.find((o) => o.startedAt > signalAt - 400 && o.startedAt < signalAt - 200);
    expect(slowOutcome?.ok).toBe(true);
    expect(code).toBe(0);
    // Keep-alive clients are told to close, so the ongoing load does not hold the process: it exits
    // after the slow request and the idle grace (~1.5 s), not when the load stops or at the 10 s deadline.
    expect(at - signalAt).toBeLessThan(2500);
    expect(output.join("")).toContain('"msg":"stopped"');
    expect(await redisConnectionsNamed(connectionName)).toBe(0);
  }, 40_000);
});
