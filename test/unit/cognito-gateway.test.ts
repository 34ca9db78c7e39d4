import type { CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { describe, expect, it } from "vitest";
import type { CognitoConfig } from "../../src/config.js";
import { createCognitoGateway } from "../../src/cognito/cognito-gateway.js";
import { BffError } from "../../src/errors.js";

const config = (refreshTokenRotation: boolean): CognitoConfig => ({
  issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test",
  region: "eu-west-1",
  userPoolId: "eu-west-1_Test",
  clientId: "client",
  clientSecret: "secret",
  domain: undefined,
  endpoint: undefined,
  tokenAuthMethod: "client_secret_basic",
  refreshTokenRotation,
  nonceCheck: true,
  identityProviders: [],
  scopes: ["openid"],
  timeoutMs: 2000,
  maxAttempts: 3,
});

/** An SDK client that answers every send() with `answer` and counts the calls. */
function sdk(answer: () => Promise<unknown>) {
  let sends = 0;
  const client = {
    send: () => {
      sends += 1;
      return answer();
    },
    destroy: () => {},
  } as unknown as CognitoIdentityProviderClient;
  return { client, sends: () => sends };
}

describe("cognito gateway", () => {
  it.each([true, false])(
    "an answer Cognito gave is never retried with the same refresh token, even when it is unusable (rotation %s)",
    async (rotation) => {
      // Cognito rotated (a new RefreshToken) but sent no AccessToken: a retry would spend the old token again.
      const { client, sends } = sdk(async () => ({ AuthenticationResult: { RefreshToken: "rt-new", TokenType: "Bearer" } }));
      const gateway = createCognitoGateway(config(rotation), { client });
      const failure = await gateway.refreshTokens({ refreshToken: "rt-old", username: "u" }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(BffError);
      expect((failure as BffError).code).toBe("temporarily_unavailable");
      expect((failure as BffError).logDetail).toContain("without AccessToken");
      expect(sends()).toBe(1);
    },
  );

  it("a transient failure before any answer is retried", async () => {
    let n = 0;
    const { client, sends } = sdk(async () => {
      n += 1;
      if (n === 1) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
      return { AuthenticationResult: { AccessToken: "at" } };
    });
    const result = await createCognitoGateway(config(false), { client }).refreshTokens({ refreshToken: "rt", username: "u" });
    expect(result).toEqual({ accessToken: "at", idToken: undefined, refreshToken: undefined, expiresInSeconds: undefined, tokenType: "Bearer" });
    expect(sends()).toBe(2);
  });
});
