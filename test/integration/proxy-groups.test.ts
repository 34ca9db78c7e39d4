/**
 * Group rules on the relay (`groups` in UPSTREAMS): the access token the BFF is
 * about to send, after any refresh, must name one of the upstream's groups in
 * `cognito:groups`; otherwise 403 insufficient_group and the upstream is not called.
 */
import { decodeJwt } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { checkResponse } from "../contract/openapi-contract.js";
import { callToken, signIn, startHarness, USER, type Harness } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

let h: Harness | undefined;
let up: Upstream | undefined;
afterEach(async () => {
  await h?.close();
  await up?.close();
  h = up = undefined;
});

async function start(groups: string[]): Promise<{ h: Harness; up: Upstream }> {
  up = await startUpstream();
  h = await startHarness({
    env: { UPSTREAMS: JSON.stringify({ ledger: { url: up.url, token: "user", groups: ["admins", "finance"] } }), REFRESH_MIN_INTERVAL_SECONDS: "0" },
  });
  h.emu.setUserGroups(USER.username, groups);
  return { h, up };
}

const ledger = (harness: Harness, jar: Parameters<typeof callToken>[0]) => callToken(jar, harness.bff.url, "/api/ledger/entries");

describe("group rules", () => {
  it("a user in none of the upstream's groups gets 403 insufficient_group and the upstream is not called", async () => {
    const { h, up } = await start(["sales"]);
    const jar = await signIn(h.bff.url);
    const res = await ledger(h, jar);
    const checked = await checkResponse("relayGet", res);
    expect(checked.status).toBe(403);
    expect(checked.body).toEqual({ error: "insufficient_group", error_description: "The signed-in user is not in a group this upstream requires." });
    expect(up.seen).toHaveLength(0);
    // The log says why, never which groups the user is in.
    const line = h.bff.logs.find((l) => l.includes("insufficient_group"))!;
    expect(line).toContain("upstream ledger");
    expect(line).not.toContain("sales");
  });

  it("a user in one of the groups is relayed, with a token that carries the group", async () => {
    const { h, up } = await start(["finance"]);
    const jar = await signIn(h.bff.url);
    expect((await ledger(h, jar)).status).toBe(200);
    expect(up.seen).toHaveLength(1);
    expect(decodeJwt(up.seen[0]!.headers.authorization!.slice(7))["cognito:groups"]).toEqual(["finance"]);
  });

  it("a user removed from the group at Cognito is refused after the next refresh, not before", async () => {
    const { h, up } = await start(["admins"]);
    const jar = await signIn(h.bff.url);
    expect((await ledger(h, jar)).status).toBe(200);
    h.emu.setUserGroups(USER.username, []);
    // The token in the session still names the group until it is refreshed.
    expect((await ledger(h, jar)).status).toBe(200);
    expect((await callToken(jar, h.bff.url, "/token/refresh", { method: "POST" })).status).toBe(200);
    const refused = await ledger(h, jar);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe("insufficient_group");
    expect(up.seen).toHaveLength(2);
  });

  it("a user added to the group is let in once the expired token is refreshed on the relayed call itself", async () => {
    const { h, up } = await start([]);
    const jar = await signIn(h.bff.url);
    expect((await ledger(h, jar)).status).toBe(403);
    h.emu.setUserGroups(USER.username, ["finance"]);
    h.emu.clock.advance(3600);
    const res = await ledger(h, jar);
    expect(res.status).toBe(200);
    expect(up.seen).toHaveLength(1);
    expect(decodeJwt(up.seen[0]!.headers.authorization!.slice(7))["cognito:groups"]).toEqual(["finance"]);
  });

  it("a copy of the cookie from before the removal is refused once its token expires and is refreshed", async () => {
    const { h, up } = await start(["finance"]);
    const jar = await signIn(h.bff.url);
    const copy = jar.clone();
    h.emu.setUserGroups(USER.username, ["sales"]);
    expect((await callToken(jar, h.bff.url, "/token/refresh", { method: "POST" })).status).toBe(200);
    expect((await ledger(h, jar)).status).toBe(403);
    h.emu.clock.advance(3600);
    // The old cookie holds a token that named the group; the refresh before the call brings Cognito's answer.
    expect((await ledger(h, copy)).status).toBe(403);
    expect(up.seen).toHaveLength(0);
  });
});
