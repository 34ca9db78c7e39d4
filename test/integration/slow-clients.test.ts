/**
 * Slow clients against the real server (server.ts): 200 connections that send
 * their headers one byte a second do not keep others waiting, and are closed at
 * HTTP_HEADERS_TIMEOUT_MS; an idle keep-alive connection is closed at
 * HTTP_KEEP_ALIVE_TIMEOUT_MS.
 */
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { CLIENT_ID, CLIENT_SECRET, freePort, serverEnv } from "../helpers/harness.js";

let emu: Emulator | undefined;
let running: RunningServer | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await running?.close();
  await emu?.close();
  running = undefined;
  emu = undefined;
});

async function start(env: Record<string, string>): Promise<RunningServer> {
  emu = await startEmulator();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [`${url}/`] });
  running = await startServer({ ...serverEnv(emu, url), LOG_LEVEL: "silent", ...env }, { host: "127.0.0.1" });
  return running;
}

/** Opens a connection that sends a request's headers one byte every `everyMs`; resolves with when it was closed. */
function dribble(port: number, everyMs: number): { closed: Promise<number> } {
  const request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + "a".repeat(200) + "\r\n\r\n";
  const socket = connect(port, "127.0.0.1");
  sockets.push(socket);
  const opened = performance.now();
  socket.write(request[0]!);
  let sent = 1;
  const timer = setInterval(() => {
    if (!socket.destroyed && sent < request.length) socket.write(request[sent++]!);
  }, everyMs);
  socket.on("error", () => {});
  const closed = new Promise<number>((resolve) =>
    socket.once("close", () => {
      clearInterval(timer);
      resolve(performance.now() - opened);
    }),
  );
  return { closed };
}

describe("slow clients", () => {
  it("200 connections sending their headers a byte a second: others are answered within a second, and the slow ones are closed at the headers timeout", async () => {
    const server = await start({ HTTP_HEADERS_TIMEOUT_MS: "2000" });
    const port = Number(new URL(server.address).port);
    const slow = Array.from({ length: 200 }, () => dribble(port, 1000));
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const res = await fetch(`${server.address}/healthz`);
      expect(res.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(1000);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const closedAfter = await Promise.all(slow.map((s) => s.closed));
    // Closed at the timeout (Node checks once a second), minutes before their 230-byte headers would be done.
    expect(Math.min(...closedAfter)).toBeGreaterThanOrEqual(1900);
    expect(Math.max(...closedAfter)).toBeLessThan(5000);
  });

  it("an idle keep-alive connection is closed at the keep-alive timeout", async () => {
    const server = await start({ HTTP_KEEP_ALIVE_TIMEOUT_MS: "1500" });
    const socket = connect(Number(new URL(server.address).port), "127.0.0.1");
    sockets.push(socket);
    let answer = "";
    socket.on("data", (chunk) => (answer += chunk.toString()));
    const started = performance.now();
    socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n");
    const closedAfter = await new Promise<number>((resolve) => socket.once("close", () => resolve(performance.now() - started)));
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/keep-alive: timeout=1/i);
    expect(closedAfter).toBeGreaterThanOrEqual(1400);
    expect(closedAfter).toBeLessThan(3000);
  });
});
