/**
 * Shared fixtures for the emulator tests: users, clients, a browser-like
 * authorize -> login form -> code walk with PKCE, and the token exchange.
 */
import { createHash, randomBytes } from "node:crypto";
import { CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { expect } from "vitest";
import type { Emulator, EmulatorClient, EmulatorUser } from "../../src/emulator/index.js";

export const USER: EmulatorUser = {
  username: "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
  email: "Grace@Example.com",
  password: "Hopper-1906!",
  emailVerified: true,
  groups: ["admins"],
  attributes: { name: "Grace Hopper", "custom:team": "navy", phone_number: "+15555550100" },
};
export const SECRET = "emulatorClientSecret0123456789abcdefghijklmnop";
export const REDIRECT = "http://app.test/auth/callback/cognito";

export const CLIENTS: EmulatorClient[] = [
  { clientId: "secretclient", clientSecret: SECRET, redirectUris: [REDIRECT], logoutUris: ["http://app.test/"], clientCredentialsScopes: ["reports/read", "reports/write"] },
  { clientId: "publicclient", redirectUris: [REDIRECT], logoutUris: [] },
  { clientId: "rotating", clientSecret: SECRET, redirectUris: [REDIRECT], logoutUris: [], rotation: { enabled: true, gracePeriodSeconds: 30 } },
  { clientId: "rotatingpublic", redirectUris: [REDIRECT], logoutUris: [], rotation: { enabled: true } },
];

/** The real AWS SDK client, pointed at the emulator, no retries. */
export function sdkFor(emu: Emulator, withCredentials = true): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({
    region: emu.region,
    endpoint: emu.url,
    maxAttempts: 1,
    ...(withCredentials ? { credentials: { accessKeyId: "x", secretAccessKey: "x" } } : {}),
  });
}

export const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

export function formPost(fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields),
    redirect: "manual",
  };
}

/** The first form of a page: absolute action URL and its input values. */
export function parseForm(html: string, baseUrl: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in page: ${html.slice(0, 200)}`);
  const unescape = (s: string) => s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, "&");
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[0])?.[1];
    if (name) fields[name] = unescape(/value="([^"]*)"/i.exec(input[0])?.[1] ?? "");
  }
  return { action: new URL(unescape(form[1]!), baseUrl).toString(), fields };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export function authorizeUrl(emu: Emulator, params: Record<string, string>): string {
  const url = new URL(`${emu.url}/oauth2/authorize`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url.toString();
}

/** authorize -> login form POST -> code, as a browser would, with PKCE S256. */
export async function signIn(
  emu: Emulator,
  clientId: string,
  extra: Record<string, string> = {},
  login = USER.email,
): Promise<{ code: string; verifier: string; location: URL }> {
  const { verifier, challenge } = pkce();
  const url = authorizeUrl(emu, {
    response_type: "code",
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: "openid email",
    state: "st4te",
    nonce: "n0nce",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  });
  const page = await fetch(url);
  expect(page.status).toBe(200);
  const { action, fields } = parseForm(await page.text(), url);
  const res = await fetch(action, formPost({ ...fields, username: login, password: USER.password }));
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get("location")!);
  return { code: location.searchParams.get("code")!, verifier, location };
}

export interface TokenSet {
  id_token: string;
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: string;
}

/** The full code flow through to the token endpoint (client_secret_post when a secret is given). */
export async function exchange(emu: Emulator, clientId: string, secret?: string, extra: Record<string, string> = {}): Promise<TokenSet> {
  const { code, verifier } = await signIn(emu, clientId, extra);
  const res = await fetch(
    `${emu.url}/oauth2/token`,
    formPost({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: verifier, client_id: clientId, ...(secret ? { client_secret: secret } : {}) }),
  );
  expect(res.status).toBe(200);
  return (await res.json()) as TokenSet;
}
