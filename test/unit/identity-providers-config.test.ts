/**
 * COGNITO_IDENTITY_PROVIDERS: the identity provider names a sign-in may ask
 * for (issue 14). Validated once at start-up, with one line naming the variable.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const BASE = {
  AUTH_SECRET: "config-test-secret-0123456789abcdefgh",
  COGNITO_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123",
  COGNITO_CLIENT_ID: "client123",
};

function problemsOf(value: string): readonly string[] {
  try {
    loadConfig({ ...BASE, COGNITO_IDENTITY_PROVIDERS: value });
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
}

describe("COGNITO_IDENTITY_PROVIDERS", () => {
  it("is empty by default: no sign-in may ask for a provider", () => {
    expect(loadConfig(BASE).cognito.identityProviders).toEqual([]);
  });

  it("takes Cognito provider names, trimmed, without repeats, case kept", () => {
    const names = loadConfig({ ...BASE, COGNITO_IDENTITY_PROVIDERS: " Google, SignInWithApple ,Okta-SAML,Google,COGNITO,Ärzte·IdP," }).cognito.identityProviders;
    expect(names).toEqual(["Google", "SignInWithApple", "Okta-SAML", "COGNITO", "Ärzte·IdP"]);
    expect(Object.isFrozen(names)).toBe(true);
  });

  it("refuses a name with whitespace or control characters, or longer than 32 characters, in one line that never echoes the value", () => {
    for (const value of ["Okta SAML", "Google,Bad\tName", "Bad\u0000Name", "x".repeat(33)]) {
      const problems = problemsOf(value);
      expect(problems, JSON.stringify(value)).toEqual([expect.stringMatching(/^COGNITO_IDENTITY_PROVIDERS: must be identity provider names/)]);
      expect(problems[0]).not.toContain(value);
    }
    expect(problemsOf("x".repeat(32))).toEqual([]);
    expect(problemsOf("Ü".repeat(32))).toEqual([]);
  });
});
