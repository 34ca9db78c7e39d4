import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { basic, CLIENTS, exchange, formPost, REDIRECT, SECRET, signIn, USER } from "./support.js";

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ users: [USER], clients: CLIENTS, authCodeTtlSeconds: 300 });
});
afterAll(() => emu.close());

const token = (fields: Record<string, string>, headers: Record<string, string> = {}) => fetch(`${emu.url}/oauth2/token`, formPost(fields, headers));
const answer = async (res: Response) => [res.status, await res.json()] as const;

describe("client authentication", () => {
  it("a client with a secret that sends a wrong one (basic or post) or none gets 400 invalid_client", async () => {
    const { code, verifier } = await signIn(emu, "secretclient");
    const grant = { grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier };
    expect(await answer(await token(grant, { authorization: basic("secretclient", "nope") }))).toEqual([400, { error: "invalid_client" }]);
    expect(await answer(await token({ ...grant, client_id: "secretclient", client_secret: "nope" }))).toEqual([400, { error: "invalid_client" }]);
    expect(await answer(await token({ ...grant, client_id: "secretclient" }))).toEqual([400, { error: "invalid_client" }]);
    expect(await answer(await token({ ...grant, client_id: "unknown" }))).toEqual([400, { error: "invalid_client" }]);
    expect(await answer(await token(grant))).toEqual([400, { error: "invalid_client" }]);
  });

  it("accepts client_secret_basic, form-encoded or not", async () => {
    for (const id of ["secretclient", encodeURIComponent("secretclient")]) {
      const { code, verifier } = await signIn(emu, "secretclient");
      const res = await token({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier }, { authorization: basic(id, encodeURIComponent(SECRET)) });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });
});

describe("authorization_code grant", () => {
  it("a wrong or missing code_verifier is invalid_grant, and burns the code", async () => {
    const { code, verifier } = await signIn(emu, "publicclient");
    const grant = { grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: "publicclient" };
    expect(await answer(await token({ ...grant, code_verifier: "x".repeat(43) }))).toEqual([400, { error: "invalid_grant" }]);
    expect(await answer(await token({ ...grant, code_verifier: verifier }))).toEqual([400, { error: "invalid_grant" }]);
    const other = await signIn(emu, "publicclient");
    expect(await answer(await token({ ...grant, code: other.code }))).toEqual([400, { error: "invalid_grant" }]);
  });

  it("a code is single-use: the second exchange is invalid_grant", async () => {
    const { code, verifier } = await signIn(emu, "publicclient");
    const grant = { grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: "publicclient", code_verifier: verifier };
    expect((await token(grant)).status).toBe(200);
    expect(await answer(await token(grant))).toEqual([400, { error: "invalid_grant" }]);
  });

  it("a code is bound to its redirect_uri and client", async () => {
    const a = await signIn(emu, "publicclient");
    expect(await answer(await token({ grant_type: "authorization_code", code: a.code, redirect_uri: `${REDIRECT}/other`, client_id: "publicclient", code_verifier: a.verifier }))).toEqual([
      400,
      { error: "invalid_grant" },
    ]);
    const b = await signIn(emu, "publicclient");
    expect(
      await answer(await token({ grant_type: "authorization_code", code: b.code, redirect_uri: REDIRECT, code_verifier: b.verifier }, { authorization: basic("secretclient", SECRET) })),
    ).toEqual([400, { error: "invalid_grant" }]);
  });

  it("a code expires after authCodeTtlSeconds on the emulator's clock", async () => {
    const { code, verifier } = await signIn(emu, "publicclient");
    emu.clock.advance(301);
    expect(await answer(await token({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: "publicclient", code_verifier: verifier }))).toEqual([
      400,
      { error: "invalid_grant" },
    ]);
  });

  it("missing parameters are invalid_request; an unknown grant is unsupported_grant_type; JSON bodies are refused", async () => {
    expect(await answer(await token({ grant_type: "authorization_code", client_id: "publicclient" }))).toEqual([400, { error: "invalid_request" }]);
    expect(await answer(await token({ client_id: "publicclient" }))).toEqual([400, { error: "invalid_request" }]);
    expect(await answer(await token({ grant_type: "password", client_id: "publicclient" }))).toEqual([400, { error: "unsupported_grant_type" }]);
    const json = await fetch(`${emu.url}/oauth2/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ grant_type: "refresh_token" }) });
    expect(await answer(json)).toEqual([400, { error: "invalid_request" }]);
  });

  it("without a code_challenge at authorize, no code_verifier is needed", async () => {
    const { code } = await signIn(emu, "publicclient", { code_challenge: "", code_challenge_method: "" });
    expect((await token({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: "publicclient" })).status).toBe(200);
  });

  it("without openid there is no ID token; with no scope requested every allowed scope is granted", async () => {
    const noOpenid = await exchange(emu, "publicclient", undefined, { scope: "aws.cognito.signin.user.admin", nonce: "" });
    expect(noOpenid.id_token).toBeUndefined();
    expect(decodeJwt(noOpenid.access_token).scope).toBe("aws.cognito.signin.user.admin");
    const all = await exchange(emu, "publicclient", undefined, { scope: "" });
    expect(decodeJwt(all.access_token).scope).toBe("openid email profile aws.cognito.signin.user.admin");
  });
});

describe("refresh_token grant", () => {
  it("answers new access and ID tokens without a refresh token when rotation is off", async () => {
    const first = await exchange(emu, "secretclient", SECRET);
    const res = await token({ grant_type: "refresh_token", refresh_token: first.refresh_token }, { authorization: basic("secretclient", SECRET) });
    const body = (await res.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "id_token", "token_type"]);
    expect(decodeJwt(body.access_token!).origin_jti).toBe(decodeJwt(first.access_token).origin_jti);
  });

  it("refuses another client's, an unknown and a revoked refresh token with invalid_grant", async () => {
    const tokens = await exchange(emu, "secretclient", SECRET);
    expect(await answer(await token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: "publicclient" }))).toEqual([400, { error: "invalid_grant" }]);
    expect(await answer(await token({ grant_type: "refresh_token", refresh_token: "garbage", client_id: "publicclient" }))).toEqual([400, { error: "invalid_grant" }]);
    await fetch(`${emu.url}/oauth2/revoke`, formPost({ token: tokens.refresh_token }, { authorization: basic("secretclient", SECRET) }));
    expect(
      await answer(await token({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }, { authorization: basic("secretclient", SECRET) })),
    ).toEqual([400, { error: "invalid_grant" }]);
  });

  it("with rotation, returns a new refresh token; after the grace period the old one is invalid_grant", async () => {
    const first = await exchange(emu, "rotatingpublic");
    const refresh = (rt: string) => token({ grant_type: "refresh_token", refresh_token: rt, client_id: "rotatingpublic" });
    const rotated = ((await (await refresh(first.refresh_token)).json()) as Record<string, string>).refresh_token!;
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(first.refresh_token);
    expect((await refresh(first.refresh_token)).status).toBe(200);
    emu.clock.advance(61);
    expect(await answer(await refresh(first.refresh_token))).toEqual([400, { error: "invalid_grant" }]);
    expect((await refresh(rotated)).status).toBe(200);
  });
});

describe("client_credentials grant", () => {
  it("a public client is unauthorized_client; a scope outside clientCredentialsScopes is invalid_scope", async () => {
    expect(await answer(await token({ grant_type: "client_credentials", client_id: "publicclient" }))).toEqual([400, { error: "unauthorized_client" }]);
    expect(await answer(await token({ grant_type: "client_credentials", scope: "reports/read admin/all" }, { authorization: basic("secretclient", SECRET) }))).toEqual([
      400,
      { error: "invalid_scope" },
    ]);
    expect(await answer(await token({ grant_type: "client_credentials" }, { authorization: basic("rotating", SECRET) }))).toEqual([400, { error: "unauthorized_client" }]);
  });

  it("answers only an access token for the client, with the requested scopes (all allowed ones by default)", async () => {
    const res = await token({ grant_type: "client_credentials", scope: "reports/read" }, { authorization: basic("secretclient", SECRET) });
    const body = (await res.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    const claims = decodeJwt(body.access_token!);
    expect(claims).toMatchObject({ sub: "secretclient", client_id: "secretclient", scope: "reports/read", token_use: "access", iss: emu.issuer });
    expect(claims.username).toBeUndefined();
    const all = (await (await token({ grant_type: "client_credentials" }, { authorization: basic("secretclient", SECRET) })).json()) as Record<string, string>;
    expect(decodeJwt(all.access_token!).scope).toBe("reports/read reports/write");
  });
});
