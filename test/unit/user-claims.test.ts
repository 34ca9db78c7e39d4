/**
 * What `/auth/session` reads from the session's tokens: `cognito:groups` and
 * the provider of the ID token's `identities` (issue 14).
 */
import { describe, expect, it } from "vitest";
import { groupsOf, identityProviderOf } from "../../src/auth/user-claims.js";

/** An unsigned JWT with `claims` (only decoded here, never verified). */
const jwt = (claims: Record<string, unknown>) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;
const google = { userId: "1047", providerName: "Google", providerType: "Google", issuer: null, primary: "true", dateCreated: "1615202663831" };
const saml = { ...google, providerName: "Okta-SAML", providerType: "SAML", primary: "false" };

describe("groupsOf", () => {
  it("is the access token's cognito:groups, and [] without them or for a token that does not decode", () => {
    expect(groupsOf(jwt({ "cognito:groups": ["eu-west-1_AbC123_Google", "admins"] }))).toEqual(["eu-west-1_AbC123_Google", "admins"]);
    expect(groupsOf(jwt({}))).toEqual([]);
    expect(groupsOf(jwt({ "cognito:groups": "admins" }))).toEqual([]);
    expect(groupsOf("not-a-jwt")).toEqual([]);
  });
});

describe("identityProviderOf", () => {
  it("is the primary identity's providerName, from the JSON array of the ID token or the JSON string of the attribute", () => {
    expect(identityProviderOf(jwt({ identities: [google] }))).toBe("Google");
    expect(identityProviderOf(jwt({ identities: [saml, google] }))).toBe("Google");
    expect(identityProviderOf(jwt({ identities: JSON.stringify([saml, google]) }))).toBe("Google");
    expect(identityProviderOf(jwt({ identities: [{ ...saml, primary: true }] }))).toBe("Okta-SAML");
  });

  it("is COGNITO for a user of the pool (no identities, or none that names a provider), and undefined without an ID token", () => {
    expect(identityProviderOf(jwt({}))).toBe("COGNITO");
    expect(identityProviderOf(jwt({ identities: [] }))).toBe("COGNITO");
    expect(identityProviderOf(jwt({ identities: "[not json" }))).toBe("COGNITO");
    expect(identityProviderOf(jwt({ identities: [{ primary: "true" }] }))).toBe("COGNITO");
    expect(identityProviderOf(undefined)).toBeUndefined();
  });
});
