/**
 * The package's entry, createBff(), in a host app: an Express app with a route
 * of its own mounts the BFF at its root, and a user signs in through the
 * emulator's Hosted UI and gets tokens from that host's /token.
 */
import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, createBff, type Bff } from "../../src/embed.js";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { callToken, CLIENT_ID, CLIENT_SECRET, serverEnv, signIn, USER } from "../helpers/harness.js";

let emu: Emulator;
let bff: Bff;
let server: Server;
let url: string;
/** The host's log lines (the BFF writes through a child of the host's logger). */
const lines: Record<string, unknown>[] = [];

beforeAll(async () => {
  emu = await startEmulator({ users: [{ ...USER, emailVerified: true }] });
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [`${url}/`] });

  const hostLog = pino({ base: { app: "host" } }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  bff = await createBff(serverEnv(emu, url), { logger: hostLog });

  const host = express();
  host.get("/hello", (_req, res) => void res.json({ hello: "from the host" }));
  host.use(bff.handler);
  server.on("request", host);
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await bff?.close();
  await emu?.close();
});

describe("createBff()", () => {
  it("a missing variable is a ConfigError that names it, before anything is built", async () => {
    const env = { ...serverEnv(emu, url), COGNITO_CLIENT_ID: undefined };
    const failure = await createBff(env).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConfigError);
    expect((failure as ConfigError).message).toContain("COGNITO_CLIENT_ID");
  });

  it("mounted at the root of a host app, signs in and serves GET /token while the host's own route keeps working", async () => {
    const jar = await signIn(url);
    const token = await callToken(jar, url);
    expect(token.status).toBe(200);
    const body = (await token.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe("Bearer");
    expect(body.access_token.split(".")).toHaveLength(3);

    const hello = await fetch(`${url}/hello`);
    expect(hello.status).toBe(200);
    expect(await hello.json()).toEqual({ hello: "from the host" });

    // What neither serves gets the BFF's own 404.
    const unknown = await fetch(`${url}/nowhere`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: "not_found" });

    expect(JSON.stringify(lines)).not.toContain(body.access_token);
  });

  it("logs through a child of the host's pino logger, with the BFF's redaction", async () => {
    const before = lines.length;
    await fetch(`${url}/healthz`);
    const line = lines.slice(before).find((l) => l.path === "/healthz");
    expect(line).toMatchObject({ app: "host", service: "cognito-bff", method: "GET", status: 200 });

    bff.log.info({ detail: { access_token: "a-token-never-logged" } }, "redaction check");
    const check = lines.find((l) => l.msg === "redaction check");
    expect(check).toMatchObject({ app: "host", service: "cognito-bff", detail: { access_token: "[redacted]" } });
  });

  it("answers config with the validated configuration", () => {
    expect(bff.config.publicUrl.origin).toBe(url);
    expect(bff.config.cognito.clientId).toBe(CLIENT_ID);
  });
});
