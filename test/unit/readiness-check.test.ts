import { describe, expect, it } from "vitest";
import { checkCognito } from "../../src/health/readiness.js";

const ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123";
const JWKS = { keys: [{ kid: "k1", kty: "RSA" }] };

/** A fetch answering from a table of URLs, recording what was asked. */
function fakeFetch(answers: Record<string, unknown>): { fetch: typeof fetch; urls: string[] } {
  const urls: string[] = [];
  const fn = (async (input: string | URL | Request) => {
    const url = String(input);
    urls.push(url);
    return url in answers ? Response.json(answers[url]) : new Response("not found", { status: 404 });
  }) as typeof fetch;
  return { fetch: fn, urls };
}

describe("checkCognito", () => {
  it("with a Hosted UI domain, checks only the JWKS at the issuer's fixed place and never discovery", async () => {
    const f = fakeFetch({ [`${ISSUER}/.well-known/jwks.json`]: JWKS });
    await checkCognito(ISSUER, 1000, f.fetch, "https://auth.example.com");
    expect(f.urls).toEqual([`${ISSUER}/.well-known/jwks.json`]);
  });

  it("with a domain, an empty JWKS is still down", async () => {
    const f = fakeFetch({ [`${ISSUER}/.well-known/jwks.json`]: { keys: [] } });
    await expect(checkCognito(ISSUER, 1000, f.fetch, "https://auth.example.com")).rejects.toThrow("JWKS has no keys");
  });

  it("without a domain, follows discovery to the JWKS it names", async () => {
    const f = fakeFetch({
      [`${ISSUER}/.well-known/openid-configuration`]: {
        authorization_endpoint: "https://auth.example.com/oauth2/authorize",
        token_endpoint: "https://auth.example.com/oauth2/token",
        jwks_uri: "https://keys.example.com/jwks.json",
      },
      "https://keys.example.com/jwks.json": JWKS,
    });
    await checkCognito(ISSUER, 1000, f.fetch);
    expect(f.urls).toEqual([`${ISSUER}/.well-known/openid-configuration`, "https://keys.example.com/jwks.json"]);
  });

  it("without a domain, a discovery document without the sign-in endpoints is down (cognito-local's)", async () => {
    const f = fakeFetch({
      [`${ISSUER}/.well-known/openid-configuration`]: { jwks_uri: `${ISSUER}/.well-known/jwks.json`, issuer: ISSUER },
      [`${ISSUER}/.well-known/jwks.json`]: JWKS,
    });
    await expect(checkCognito(ISSUER, 1000, f.fetch)).rejects.toThrow("discovery has no authorization_endpoint");
  });
});
