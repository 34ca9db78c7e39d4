import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const SECRET = "s".repeat(40);
const valid = {
  AUTH_SECRET: SECRET,
  COGNITO_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
  COGNITO_CLIENT_ID: "abc123client",
};

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig", () => {
  it("names every missing required variable in one error", () => {
    const problems = problemsOf({});
    expect(problems.some((p) => p.startsWith("AUTH_SECRET:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("COGNITO_ISSUER:"))).toBe(true);
    expect(problems.some((p) => p.startsWith("COGNITO_CLIENT_ID:"))).toBe(true);
  });

  it("rejects a short secret without printing its value", () => {
    const weak = "tooShortButSecretValue";
    let message = "";
    try {
      loadConfig({ ...valid, AUTH_SECRET: weak, COGNITO_CLIENT_SECRET: "client-secret-value-xyz", PORT: "http" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("AUTH_SECRET: must be at least 32 characters");
    expect(message).toContain("PORT: must be a whole number");
    expect(message).not.toContain(weak);
    expect(message).not.toContain("client-secret-value-xyz");
  });

  it("requires https and PUBLIC_URL in production", () => {
    const problems = problemsOf({
      ...valid,
      NODE_ENV: "production",
      COGNITO_ISSUER: "http://127.0.0.1:4000/us-east-1_Emulator1",
    });
    expect(problems).toContain("COGNITO_ISSUER: must use https in production");
    expect(problems.some((p) => p.startsWith("PUBLIC_URL: is required in production"))).toBe(true);
  });

  it("rejects an issuer without a user pool id and a bad origin list", () => {
    const problems = problemsOf({ ...valid, COGNITO_ISSUER: "https://example.com/", ALLOWED_ORIGINS: "https://ok.example, https://bad.example/path" });
    expect(problems).toContain("COGNITO_ISSUER: must end with a user pool id such as eu-west-1_AbCdEf123");
    expect(problems.some((p) => p.startsWith("ALLOWED_ORIGINS:"))).toBe(true);
  });

  it("rejects unknown booleans and enums by name", () => {
    const problems = problemsOf({ ...valid, COGNITO_REFRESH_TOKEN_ROTATION: "maybe", COGNITO_TOKEN_AUTH_METHOD: "jwt" });
    expect(problems).toContain("COGNITO_REFRESH_TOKEN_ROTATION: must be true or false");
    expect(problems).toContain("COGNITO_TOKEN_AUTH_METHOD: must be client_secret_basic or client_secret_post");
  });

  it("derives region and pool from the issuer and applies defaults", () => {
    const config = loadConfig({ ...valid, ALLOWED_ORIGINS: "https://app.example.com,http://localhost:5173" });
    expect(config.cognito.region).toBe("eu-west-1");
    expect(config.cognito.userPoolId).toBe("eu-west-1_AbCdEf123");
    expect(config.cognito.tokenAuthMethod).toBe("none");
    expect(config.refreshSkewSeconds).toBe(60);
    expect(config.allowedOrigins).toEqual(["https://app.example.com", "http://localhost:5173"]);
    expect(config.publicUrl.origin).toBe("http://localhost:3000");
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("orders secrets like Auth.js: AUTH_SECRET_3, _2, _1 before AUTH_SECRET", () => {
    const config = loadConfig({ ...valid, AUTH_SECRET_1: "1".repeat(32), AUTH_SECRET_2: "2".repeat(32) });
    expect(config.authSecrets).toEqual(["2".repeat(32), "1".repeat(32), SECRET]);
  });

  it("uses the configured token auth method only for a client with a secret", () => {
    const config = loadConfig({ ...valid, COGNITO_CLIENT_SECRET: "x".repeat(20), COGNITO_TOKEN_AUTH_METHOD: "client_secret_post" });
    expect(config.cognito.tokenAuthMethod).toBe("client_secret_post");
  });
});
