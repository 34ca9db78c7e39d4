/**
 * Issue 13, item 7: a body parser's message quotes the body it failed on
 * (`Unexpected token S in JSON at position 12: …"rfToken": SUPERSECRE…`), and
 * the error handler used to copy foreign error messages into the request's log
 * line. No part of a request body may reach the log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

const SECRET = "SUPERSECRETqz7Kx4Wm9Rv";

/** Every 6-character piece of the secret: none may appear in any log line. */
const PIECES = Array.from({ length: SECRET.length - 5 }, (_, i) => SECRET.slice(i, i + 6));

/** Bodies that no parser accepts (or that a parser reads in part), each carrying the secret. */
const BODIES: ReadonlyArray<{ type: string; body: string }> = [
  { type: "application/json", body: `{"rfToken": ${SECRET}"}` },
  { type: "application/json", body: `{"rfToken": "${SECRET}"` },
  { type: "application/json", body: `["${SECRET}",]` },
  { type: "application/json; charset=utf-8", body: `${SECRET}` },
  { type: "application/x-www-form-urlencoded", body: `rfToken=${SECRET}%&a[b][c][d][e][f][g][h][i][j][k][l][m][n][o][p][q][r][s][t][u][v][w][x][y][z][aa][bb][cc][dd][ee][ff][gg]=1` },
  { type: "application/x-www-form-urlencoded; charset=koi8-r", body: `rfToken=${SECRET}` },
  { type: "application/x-www-form-urlencoded", body: `${"a=1&".repeat(1100)}rfToken=${SECRET}` },
];

let h: Harness;
let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream();
  h = await startHarness({ env: { UPSTREAMS: JSON.stringify({ orders: { url: upstream.url, token: "user-or-none" } }) } });
});
afterAll(async () => {
  await h?.close();
  await upstream?.close();
});

function leaks(lines: readonly string[]): string[] {
  return lines.filter((line) => PIECES.some((piece) => line.includes(piece)));
}

describe("request bodies never reach the log", () => {
  it.each(["/auth/signin/cognito", "/auth/signout", "/auth/callback/cognito", "/token", "/token/refresh", "/api/orders/items"])(
    "malformed JSON and urlencoded bodies posted to %s leave no 6-character piece of a secret in the log",
    async (path) => {
      const before = h.bff.logs.length;
      const statuses: number[] = [];
      for (const { type, body } of BODIES) {
        const res = await fetch(`${h.bff.url}${path}`, { method: "POST", headers: { "content-type": type, "x-csrf": "1" }, body, redirect: "manual" });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      const lines = h.bff.logs.slice(before);
      expect(lines.length).toBeGreaterThanOrEqual(BODIES.length);
      expect(leaks(lines)).toEqual([]);
      expect(statuses.every((s) => s < 500), `${path}: ${statuses.join(",")}`).toBe(true);
    },
  );

  it("a malformed JSON body to /auth/signin/cognito is logged as 400 invalid_request with the error's class and path, not its message", async () => {
    const before = h.bff.logs.length;
    const res = await fetch(`${h.bff.url}/auth/signin/cognito`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"rfToken": ${SECRET}"}` });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("invalid_request");
    const line = h.bff.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "request");
    expect(line).toMatchObject({
      path: "/auth/signin/cognito",
      status: 400,
      code: "invalid_request",
      detail: "request rejected by a parser (entity.parse.failed)",
      error: { name: "SyntaxError" },
    });
    expect(line!.error).not.toHaveProperty("message");
  });
});
