import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { BffError } from "../../src/errors.js";
import { errorHandler, notFound } from "../../src/http/error-handler.js";
import { requestLogger } from "../../src/http/request-logger.js";
import { createLogger } from "../../src/log.js";

interface Observed {
  route: string;
  method: string;
  status: number;
  seconds: number;
}

function buildApp() {
  const lines: Record<string, unknown>[] = [];
  const observed: Observed[] = [];
  const log = createLogger({ level: "info", destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const app = express();
  app.use(requestLogger(app, log, { observe: (route, method, status, seconds) => observed.push({ route, method, status, seconds }) }));
  app.get("/token", (_req, res) => void res.json({ ok: true }));
  app.get("/items/:id", (_req, res) => void res.status(204).end());
  app.all(["/a", "/b"], (_req, res) => void res.send("x"));
  app.get("/fails", () => {
    throw new BffError("temporarily_unavailable", { logDetail: "cognito throttled", retryAfterSeconds: 5 });
  });
  app.use(notFound);
  app.use(errorHandler({ clear: () => [], presentCookieNames: () => [] } as never));
  return { app, lines, observed };
}

describe("request logger", () => {
  it("writes exactly one line per request, with the path but never the query string", async () => {
    const { app, lines } = buildApp();
    await request(app).get("/token?code=secret-authorization-code").expect(200);
    await request(app).get("/nowhere").expect(404);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ method: "GET", path: "/token", status: 200, msg: "request" });
    expect(JSON.stringify(lines)).not.toContain("secret-authorization-code");
    expect(lines[1]).toMatchObject({ path: "/nowhere", status: 404, code: "not_found" });
  });

  it("logs 5xx at error level with the private detail, which never reaches the body", async () => {
    const { app, lines } = buildApp();
    const res = await request(app).get("/fails").expect(503);
    expect(res.text).not.toContain("cognito throttled");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, status: 503, code: "temporarily_unavailable", detail: "cognito throttled" });
  });

  it("returns a well-formed X-Request-Id as given and replaces a malformed one", async () => {
    const { app, lines } = buildApp();
    const kept = await request(app).get("/token").set("X-Request-Id", "lb-1234.abc:9").expect(200);
    expect(kept.headers["x-request-id"]).toBe("lb-1234.abc:9");
    const replaced = await request(app).get("/token").set("X-Request-Id", "bad id\twith spaces").expect(200);
    expect(replaced.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.map((l) => l.reqId)).toEqual(["lb-1234.abc:9", replaced.headers["x-request-id"]]);
  });

  it("observes each request once under a low-cardinality route label", async () => {
    const { app, observed } = buildApp();
    await request(app).get("/token").expect(200);
    await request(app).get("/items/41").expect(204);
    await request(app).get("/items/42").expect(204);
    await request(app).post("/b").expect(200);
    await request(app).get("/random/path/123").expect(404);
    expect(observed.map(({ route, method, status }) => [route, method, status])).toEqual([
      ["/token", "GET", 200],
      ["/items/:id", "GET", 204],
      ["/items/:id", "GET", 204],
      ["/b", "POST", 200],
      ["unmatched", "GET", 404],
    ]);
    for (const o of observed) expect(o.seconds).toBeGreaterThanOrEqual(0);
  });
});
