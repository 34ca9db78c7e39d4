/**
 * Issue 13, item 9: Auth.js copied every query parameter of
 * `POST /auth/signin/cognito` into the Hosted UI's authorize URL, over the
 * BFF's own: `?redirect_uri=https://evil.example/cb&client_id=other&scope=…`
 * sent the authorization code elsewhere, for another client and scope. Only
 * identity_provider (an allowed one), login_hint and lang pass, once each.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CookieJar } from "../helpers/cookie-jar.js";
import { CLIENT_ID, startHarness, type Harness } from "../helpers/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { COGNITO_IDENTITY_PROVIDERS: "Google" } });
});
afterAll(async () => {
  await h?.close();
});

/** Starts a sign-in the way the browser client does, with `query` on the URL; the jar keeps Auth.js's cookies. */
async function startSignIn(query: string, jar = new CookieJar()): Promise<Response> {
  const { csrfToken } = (await (await jar.fetch(`${h.bff.url}/auth/csrf`)).json()) as { csrfToken: string };
  return jar.fetch(`${h.bff.url}/auth/signin/cognito${query}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrfToken, callbackUrl: `${h.bff.url}/` }),
  });
}

/** The authorize URL's parameters as [name, value] pairs, sorted by name (repeats kept). */
function authorizeParams(location: string): Array<[string, string]> {
  const url = new URL(location);
  expect(`${url.origin}${url.pathname}`).toBe(`${h.emu.url}/oauth2/authorize`);
  return [...url.searchParams].sort(([a], [b]) => a.localeCompare(b));
}

/** What the BFF itself puts into every authorize URL (values that vary per sign-in are matched by shape). */
function ownParams(): Array<[string, unknown]> {
  return [
    ["client_id", CLIENT_ID],
    ["code_challenge", expect.stringMatching(/^[\w-]{43}$/)],
    ["code_challenge_method", "S256"],
    ["nonce", expect.stringMatching(/^[\w-]{20,}$/)],
    ["redirect_uri", `${h.bff.url}/auth/callback/cognito`],
    ["response_type", "code"],
    ["scope", "openid email profile"],
    ["state", expect.stringMatching(/^[\w.-]{20,}$/)],
  ];
}

function sorted(pairs: Array<[string, unknown]>): Array<[string, unknown]> {
  return pairs.sort(([a], [b]) => a.localeCompare(b));
}

async function expectRefused(query: string): Promise<void> {
  const jar = new CookieJar();
  await jar.fetch(`${h.bff.url}/auth/csrf`);
  const before = h.bff.logs.length;
  const res = await startSignIn(query, jar);
  expect(res.status, query).toBe(400);
  expect(res.headers.get("location"), query).toBeNull();
  expect(((await res.json()) as { error: string }).error, query).toBe("invalid_request");
  const line = h.bff.logs.slice(before).map((l) => JSON.parse(l) as { msg: string; path?: string; code?: string; detail?: string }).find((l) => l.path === "/auth/signin/cognito");
  expect(line?.code, query).toBe("invalid_request");
  expect(line?.detail, query).toMatch(/^sign-in query parameter/);
}

describe("sign-in query parameters", () => {
  it("the BFF's own redirect_uri, client_id and scope cannot be replaced from the query: 400 invalid_request, no redirect to Cognito", async () => {
    await expectRefused("?redirect_uri=https%3A%2F%2Fevil.example%2Fcb&client_id=other&scope=aws.cognito.signin.user.admin");
    for (const name of ["redirect_uri", "client_id", "scope", "response_type", "state", "code_challenge", "code_challenge_method", "nonce"]) {
      await expectRefused(`?${name}=x`);
    }
    await expectRefused("?redirect%5Furi=https%3A%2F%2Fevil.example%2Fcb");
  });

  it("an unknown parameter, a repeated allowed one, an empty one, or identity_provider with idp_identifier is 400 invalid_request", async () => {
    for (const query of [
      "?prompt=none",
      "?callbackUrl=%2F",
      "?=x",
      "?login_hint=a%40example.com&login_hint=b%40example.com",
      "?identity_provider=Google&identity_provider=Facebook",
      "?lang=fr&lang=de",
      "?identity_provider=Google&idp_identifier=example.com",
      "?login_hint=",
      `?login_hint=${"a".repeat(257)}`,
      "?lang=fr&client_id=other",
    ]) {
      await expectRefused(query);
    }
  });

  it("without a query, the authorize URL holds exactly the BFF's own parameters", async () => {
    const res = await startSignIn("");
    expect(res.status).toBe(302);
    expect(authorizeParams(res.headers.get("location")!)).toEqual(sorted(ownParams()));
  });

  it("identity_provider, login_hint and lang pass to the authorize URL next to exactly the BFF's own parameters", async () => {
    const res = await startSignIn("?identity_provider=Google&login_hint=ada%40example.com&lang=fr");
    expect(res.status).toBe(302);
    expect(authorizeParams(res.headers.get("location")!)).toEqual(
      sorted([...ownParams(), ["identity_provider", "Google"], ["login_hint", "ada@example.com"], ["lang", "fr"]]),
    );
  });

  it("idp_identifier is refused: an identifier cannot be held to the allow-list of provider names", async () => {
    await expectRefused("?idp_identifier=example.com");
  });

  it("the authorize URL of a sign-in with allowed parameters is one the Hosted UI serves", async () => {
    const jar = new CookieJar();
    const res = await startSignIn("?login_hint=ada%40example.com&lang=en", jar);
    const page = await jar.fetch(res.headers.get("location")!);
    expect(page.status).toBe(200);
  });
});
