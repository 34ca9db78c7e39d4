/**
 * isAllowedRedirect: where a sign-in or sign-out may send the browser.
 * Issue 13, item 10: the Hosted UI logout check read only the first
 * `logout_uri` and ignored every other parameter.
 */
import { describe, expect, it } from "vitest";
import { isAllowedRedirect } from "../../src/auth/auth-config.js";
import { loadConfig } from "../../src/config.js";

const DOMAIN = "https://auth.example.com";
const CLIENT = "abc123client";
const SPA = "https://spa.example";
const config = loadConfig({
  AUTH_SECRET: "unit-test-secret-0123456789abcdefghij",
  PUBLIC_URL: "https://bff.example",
  ALLOWED_ORIGINS: SPA,
  COGNITO_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
  COGNITO_CLIENT_ID: CLIENT,
  COGNITO_DOMAIN: DOMAIN,
});

const enc = encodeURIComponent;
const logout = (query: string) => `${DOMAIN}/logout?${query}`;

describe("isAllowedRedirect: the Hosted UI logout", () => {
  it.each([
    ["a second logout_uri to a foreign site", `client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}&logout_uri=${enc("https://evil.example/")}`],
    ["a second logout_uri that is allowed too", `client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}&logout_uri=${enc(`${SPA}/b`)}`],
    ["an added redirect_uri", `client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}&redirect_uri=${enc("https://evil.example/cb")}`],
    ["an added response_type", `client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}&response_type=code`],
    ["an added state", `client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}&state=x`],
    ["a second client_id (ours first)", `client_id=${CLIENT}&client_id=other&logout_uri=${enc(`${SPA}/`)}`],
    ["a second client_id (ours last)", `client_id=other&client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}`],
    ["our client_id twice", `client_id=${CLIENT}&client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}`],
    ["another client_id", `client_id=other&logout_uri=${enc(`${SPA}/`)}`],
    ["no client_id", `logout_uri=${enc(`${SPA}/`)}`],
    ["no logout_uri", `client_id=${CLIENT}`],
    ["a foreign logout_uri", `client_id=${CLIENT}&logout_uri=${enc("https://evil.example/")}`],
    ["a logout_uri that is not a URL", `client_id=${CLIENT}&logout_uri=%2Fbye`],
    ["an empty parameter name", `client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}&=x`],
  ])("refuses %s", (_name, query) => {
    expect(isAllowedRedirect(logout(query), config)).toBe(false);
  });

  it("refuses userinfo in the logout URL and a look-alike path or host", () => {
    const query = `client_id=${CLIENT}&logout_uri=${enc(`${SPA}/`)}`;
    expect(isAllowedRedirect(`https://user@auth.example.com/logout?${query}`, config)).toBe(false);
    expect(isAllowedRedirect(`${DOMAIN}/logout/x?${query}`, config)).toBe(false);
    expect(isAllowedRedirect(`https://auth.example.com.evil.example/logout?${query}`, config)).toBe(false);
  });

  it("allows exactly one client_id (ours) and one allowed logout_uri, in either order", () => {
    expect(isAllowedRedirect(logout(`client_id=${CLIENT}&logout_uri=${enc(`${SPA}/bye`)}`), config)).toBe(true);
    expect(isAllowedRedirect(logout(`logout_uri=${enc("https://bff.example/")}&client_id=${CLIENT}`), config)).toBe(true);
  });
});

describe("isAllowedRedirect: this service and the SPA origins", () => {
  it("allows this service and an allowed SPA origin, with any path and query", () => {
    expect(isAllowedRedirect("https://bff.example/x?y=1", config)).toBe(true);
    expect(isAllowedRedirect(`${SPA}/app?redirect_uri=anything`, config)).toBe(true);
  });

  it("refuses other origins and what is not a URL", () => {
    for (const url of ["https://evil.example/", "http://spa.example/", `${SPA}.evil.example/`, "javascript:alert(1)", "/relative"]) {
      expect(isAllowedRedirect(url, config), url).toBe(false);
    }
  });
});
