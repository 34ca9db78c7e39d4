/**
 * Which sign-in query strings may reach the Hosted UI, one row each, with the exact log line of a refusal (a
 * parameter's name, never its value). test/integration/sign-in-params.test.ts drives the same rule through
 * Auth.js and the emulator.
 */
import { describe, expect, it } from "vitest";
import { checkSignInParams } from "../../src/http/sign-in-params.js";

const PROVIDERS = ["Google", "Okta"];

describe("sign-in query parameters", () => {
  it.each(["", "?", "?identity_provider=Google", "?identity_provider=Okta&login_hint=ada%40example.com&lang=fr", `?login_hint=${"a".repeat(256)}`, "?lang=x"])(
    "%s passes",
    (search) => {
      expect(checkSignInParams(search, PROVIDERS)).toEqual({ ok: true });
    },
  );

  it.each([
    ["?redirect_uri=https://evil.example/cb", "params", "sign-in query parameter not allowed: redirect_uri"],
    ["?client_id=other", "params", "sign-in query parameter not allowed: client_id"],
    ["?lang=fr&scope=openid", "params", "sign-in query parameter not allowed: scope"],
    ["?Lang=fr", "params", "sign-in query parameter not allowed: Lang"],
    [`?${"n".repeat(41)}=1`, "params", "sign-in query parameter not allowed: (unprintable name)"],
    [`?${"n".repeat(40)}=1`, "params", `sign-in query parameter not allowed: ${"n".repeat(40)}`],
    ["?a%0Ab=1", "params", "sign-in query parameter not allowed: (unprintable name)"],
    ["?=1", "params", "sign-in query parameter not allowed: (unprintable name)"],
    ["?lang=fr&lang=de", "params", "sign-in query parameter repeated: lang"],
    ["?login_hint=", "params", "sign-in query parameter login_hint: value must be 1-256 characters"],
    [`?login_hint=${"a".repeat(257)}`, "params", "sign-in query parameter login_hint: value must be 1-256 characters"],
    ["?idp_identifier=example.com", "identity_provider", "sign-in query parameter idp_identifier: not supported, identity_provider names the provider"],
    ["?identity_provider=google", "identity_provider", "sign-in query parameter identity_provider: not in COGNITO_IDENTITY_PROVIDERS"],
    ["?identity_provider=Evil", "identity_provider", "sign-in query parameter identity_provider: not in COGNITO_IDENTITY_PROVIDERS"],
  ])("%s is refused (%s): %s", (search, reason, logDetail) => {
    expect(checkSignInParams(search, PROVIDERS)).toEqual({ ok: false, reason, logDetail });
  });

  it("with no identity provider configured, asking for one is refused", () => {
    expect(checkSignInParams("?identity_provider=Google", [])).toMatchObject({ ok: false, reason: "identity_provider" });
  });

  it("a refusal's log line never carries the value", () => {
    const check = checkSignInParams("?redirect_uri=https://evil.example/secret-path", PROVIDERS);
    expect(JSON.stringify(check)).not.toContain("secret-path");
  });
});
