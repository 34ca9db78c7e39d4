/**
 * The plain-Node helpers the fast lane and Express's routes share, each held
 * to the Express behaviour it replaces: the guard's `Vary` on a plain
 * response as `res.vary()` sets it,
 * `req.ips` under every kind of `trust proxy`, and the relay's reading of
 * `Connection` (with its shortcut for the usual values).
 */
import { createServer, IncomingMessage, ServerResponse, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Socket } from "node:net";
import express, { type Express } from "express";
import { afterEach, describe, expect, it } from "vitest";
import { trustedChainOf } from "../../src/http/trusted-chain.js";
import { browserGuards } from "../../src/http/browser-guards.js";
import { upstreamRequestHeaders } from "../../src/proxy/headers.js";

const plainResponse = () => new ServerResponse(new IncomingMessage(new Socket()));

describe("the browser guard's Vary on a plain Node response", () => {
  const app = express();
  /** What Express's res.vary() makes of the same start. */
  function expressVary(start: string | string[] | undefined, field: string): unknown {
    const res = plainResponse();
    Object.setPrototypeOf(res, app.response);
    if (start !== undefined) res.setHeader("Vary", start);
    (res as unknown as express.Response).vary(field);
    return res.getHeader("Vary");
  }

  it.each<[string | string[] | undefined, string]>([
    [undefined, "Origin"],
    ["", "Origin"],
    ["Origin", "Origin"],
    ["origin", "Origin"],
    ["Accept-Encoding", "Origin"],
    ["Accept-Encoding, Cookie", "Origin"],
    [" Accept-Encoding ,origin ", "Origin"],
    ["*", "Origin"],
    ["Cookie, *", "Origin"],
    [["Accept-Encoding", "Cookie"], "Origin"],
    [["Accept-Encoding", "Origin"], "Origin"],
    [["Cookie", "*"], "Origin"],
  ])("with Vary %j, adding %s gives what res.vary() gives", (start, field) => {
    const guard = browserGuards({ publicOrigin: "https://bff.example", allowedOrigins: [] });
    const res = plainResponse();
    if (start !== undefined) res.setHeader("Vary", start);
    // A request without Origin: the guard adds `Vary: Origin` and goes on to its CSRF rule.
    const req = Object.assign(new IncomingMessage(new Socket()), { headers: { "x-csrf": "1" } });
    let passed: unknown = "not called";
    guard(req as unknown as express.Request, res as unknown as express.Response, (error?: unknown) => (passed = error));
    expect(passed).toBeUndefined();
    expect(res.getHeader("Vary")).toEqual(expressVary(start, field));
  });
});

describe("trustedChainOf", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** What a request with `forwardedFor` gives as req.ips (dressed by Express) and through trustedChainOf (plain). */
  async function both(trust: boolean | number | string, forwardedFor: string | undefined): Promise<[unknown, unknown]> {
    const app: Express = express();
    app.set("trust proxy", trust);
    const chain = trustedChainOf(app);
    let seen: [unknown, unknown] = [undefined, undefined];
    server = createServer((req, res) => {
      const plain = chain(req);
      app(req, res);
      seen = [(req as express.Request).ips, plain];
    });
    app.use((_req, res) => void res.end());
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, forwardedFor ? { headers: { "x-forwarded-for": forwardedFor } } : {});
    return seen;
  }

  it.each<[boolean | number | string, string | undefined]>([
    [false, "203.0.113.7"],
    [true, "198.51.100.1, 203.0.113.7"],
    [1, "198.51.100.1, 203.0.113.7"],
    [2, "198.51.100.1, 203.0.113.7, 192.0.2.9"],
    ["loopback", "203.0.113.7"],
    ["loopback, 203.0.113.7", "198.51.100.1, 203.0.113.7"],
    [true, undefined],
  ])("trust proxy %j with X-Forwarded-For %j gives req.ips", async (trust, forwardedFor) => {
    const [dressed, plain] = await both(trust, forwardedFor);
    expect(plain).toEqual(dressed);
  });

  it("names the client under trust proxy (not an empty list that would pass by accident)", async () => {
    const [, plain] = await both(1, "198.51.100.1, 203.0.113.7");
    expect(plain).toEqual(["203.0.113.7"]);
  });
});

describe("Connection on a relayed request", () => {
  const options: Parameters<typeof upstreamRequestHeaders>[1] = {
    bearer: undefined,
    forwardCookies: false,
    requestId: undefined,
    forwarded: { trustedChain: [], peerAddress: undefined, proto: "https", host: undefined },
  };

  it.each(["close", "Close", "keep-alive, close"])("Connection: %j drops a field named close, as it names it", (connection) => {
    const headers = upstreamRequestHeaders({ connection, close: "x", accept: "a" }, options);
    expect(headers).not.toHaveProperty("close");
    expect(headers.accept).toBe("a");
  });

  it.each(["keep-alive", "Keep-Alive", "keep-alive, x-private"])("Connection: %j keeps the other fields (and drops what it names)", (connection) => {
    const headers = upstreamRequestHeaders({ connection, "keep-alive": "timeout=5", "x-private": "p", accept: "a" }, options);
    expect(headers).not.toHaveProperty("keep-alive");
    expect(headers.accept).toBe("a");
    expect("x-private" in headers).toBe(!connection.includes("x-private"));
  });
});
