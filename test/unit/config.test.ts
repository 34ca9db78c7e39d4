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

  // Issue 18: one badly formatted variable used to stop the parse before the
  // required-variable checks ran, so it hid every missing one.
  it("a badly formatted PORT with nothing else set is reported together with every missing variable", () => {
    const problems = problemsOf({ PORT: "abc" });
    expect(problems).toEqual([
      "PORT: must be a whole number",
      expect.stringMatching(/^AUTH_SECRET: is required/),
      expect.stringMatching(/^COGNITO_ISSUER: is required/),
      "COGNITO_CLIENT_ID: is required",
    ]);
  });

  it.each([
    ["LOG_LEVEL", "verbose", "LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent"],
    ["NODE_ENV", "prod", "NODE_ENV: must be production, development or test"],
  ])("a bad %s is reported with the missing variables, and its value is not echoed", (name, value, expected) => {
    let message = "";
    try {
      loadConfig({ [name]: value, COGNITO_CLIENT_ID: "abc123client" });
    } catch (error) {
      message = (error as ConfigError).message;
    }
    const problems = problemsOf({ [name]: value, COGNITO_CLIENT_ID: "abc123client" });
    expect(problems).toContain(expected);
    expect(problems.some((p) => p.startsWith("AUTH_SECRET: is required"))).toBe(true);
    expect(problems.some((p) => p.startsWith("COGNITO_ISSUER: is required"))).toBe(true);
    expect(problems.some((p) => p.startsWith("COGNITO_CLIENT_ID:"))).toBe(false);
    // The variable's one line is exactly the rule it breaks (NODE_ENV=prod is a substring of the rule itself).
    expect(message.split("\n").filter((line) => line.includes(name))).toEqual([`  - ${expected}`]);
  });

  it("a variable that failed its own check is not also reported as missing or checked in combination", () => {
    const problems = problemsOf({ AUTH_SECRET: "short-secret-value", COGNITO_ISSUER: "ftp://cognito.example/eu-west-1_AbC", PORT: "70000" });
    expect(problems).toEqual([
      "PORT: must be at most 65535",
      "AUTH_SECRET: must be at least 32 characters",
      "COGNITO_ISSUER: must be an http(s) URL",
      "COGNITO_CLIENT_ID: is required",
    ]);
    expect(problems.join("\n")).not.toMatch(/short-secret-value|ftp:|70000/);
  });

  it("the combination checks still run next to a bad variable: a bad LOG_LEVEL and an http issuer in production are both named", () => {
    const problems = problemsOf({ ...valid, NODE_ENV: "production", LOG_LEVEL: "loud", COGNITO_ISSUER: "http://127.0.0.1:4000/us-east-1_Emulator1" });
    expect(problems).toContain("LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent");
    expect(problems).toContain("COGNITO_ISSUER: must use https in production");
    expect(problems.some((p) => p.startsWith("PUBLIC_URL: is required in production"))).toBe(true);
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

describe("loadConfig: emulator pool ids, AWS_REGION and the nonce check", () => {
  const local = { ...valid, COGNITO_ISSUER: "http://127.0.0.1:9229/local_AbC123", COGNITO_ENDPOINT: "http://127.0.0.1:9229" };

  it("accepts a pool id without a region when COGNITO_ENDPOINT is set, with the region from AWS_REGION", () => {
    const config = loadConfig({ ...local, AWS_REGION: "eu-central-1" });
    expect(config.cognito).toMatchObject({ userPoolId: "local_AbC123", region: "eu-central-1", issuer: "http://127.0.0.1:9229/local_AbC123" });
  });

  it("defaults the region of a region-less pool id to us-east-1", () => {
    expect(loadConfig(local).cognito.region).toBe("us-east-1");
  });

  it("rejects a region-less pool id without COGNITO_ENDPOINT, naming both variables", () => {
    const problems = problemsOf({ ...valid, COGNITO_ISSUER: "http://127.0.0.1:9229/local_Qw7Er5", AWS_REGION: "eu-central-1" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^COGNITO_ISSUER, COGNITO_ENDPOINT: /);
    expect(problems[0]).not.toContain("Qw7Er5");
  });

  it("keeps the pool id's own region over AWS_REGION", () => {
    const config = loadConfig({ ...valid, AWS_REGION: "us-west-2", COGNITO_ENDPOINT: "http://127.0.0.1:9229" });
    expect(config.cognito.region).toBe("eu-west-1");
  });

  it("rejects a malformed AWS_REGION by name", () => {
    expect(problemsOf({ ...local, AWS_REGION: "eu west 1" })).toContain("AWS_REGION: must be an AWS region such as eu-west-1");
  });

  it("checks the nonce by default, without a warning", () => {
    const config = loadConfig(valid);
    expect(config.cognito.nonceCheck).toBe(true);
    expect(config.warnings).toEqual([]);
  });

  it("turns the nonce check off with COGNITO_NONCE_CHECK=false and warns about it", () => {
    const config = loadConfig({ ...local, COGNITO_NONCE_CHECK: "false" });
    expect(config.cognito.nonceCheck).toBe(false);
    expect(config.warnings).toEqual([expect.stringMatching(/^COGNITO_NONCE_CHECK is false: /)]);
    expect(Object.isFrozen(config.warnings)).toBe(true);
    expect(problemsOf({ ...valid, COGNITO_NONCE_CHECK: "off" })).toContain("COGNITO_NONCE_CHECK: must be true or false");
  });
});

describe("loadConfig: SESSION_STORE", () => {
  it("is cookie by default, and redis with REDIS_URL", () => {
    expect(loadConfig(valid).sessionStore).toBe("cookie");
    expect(loadConfig({ ...valid, SESSION_STORE: "redis", REDIS_URL: "redis://127.0.0.1:6379" }).sessionStore).toBe("redis");
  });

  it("redis without REDIS_URL names both variables; an unknown store is named", () => {
    expect(problemsOf({ ...valid, SESSION_STORE: "redis" })).toEqual(["SESSION_STORE, REDIS_URL: SESSION_STORE=redis keeps the sessions in Redis and needs REDIS_URL"]);
    expect(problemsOf({ ...valid, SESSION_STORE: "memcached" })).toEqual(["SESSION_STORE: must be cookie or redis"]);
  });
});

describe("loadConfig: REDIS_MODE", () => {
  it("standalone by default; cluster takes seed nodes and sentinel takes the sentinels and a master name", () => {
    expect(loadConfig({ ...valid, REDIS_URL: "redis://127.0.0.1:6379" })).toMatchObject({ redisMode: "standalone", redisSentinelMaster: undefined });
    const cluster = loadConfig({ ...valid, REDIS_MODE: "cluster", REDIS_URL: "rediss://:pw@10.0.0.1:6379, rediss://10.0.0.2:6379" });
    expect(cluster).toMatchObject({ redisMode: "cluster", redisUrl: "rediss://:pw@10.0.0.1:6379, rediss://10.0.0.2:6379" });
    const sentinel = loadConfig({ ...valid, REDIS_MODE: "sentinel", REDIS_URL: "redis://s1:26379,redis://s2:26379", REDIS_SENTINEL_MASTER: "mymaster" });
    expect(sentinel).toMatchObject({ redisMode: "sentinel", redisSentinelMaster: "mymaster" });
  });

  it.each([
    [{ REDIS_MODE: "cluster" }, "REDIS_MODE, REDIS_URL: REDIS_MODE=cluster needs REDIS_URL (the cluster's seed nodes, comma-separated)"],
    [{ REDIS_URL: "redis://a:6379,redis://b:6379" }, "REDIS_URL, REDIS_MODE: several URLs need REDIS_MODE=cluster (seed nodes) or REDIS_MODE=sentinel (the sentinels)"],
    [{ REDIS_MODE: "sentinel", REDIS_URL: "redis://s1:26379" }, "REDIS_SENTINEL_MASTER, REDIS_MODE: REDIS_MODE=sentinel needs the name of the primary the sentinels monitor"],
    [{ REDIS_URL: "redis://a:6379", REDIS_SENTINEL_MASTER: "mymaster" }, "REDIS_SENTINEL_MASTER, REDIS_MODE: REDIS_SENTINEL_MASTER is only for REDIS_MODE=sentinel"],
    [{ REDIS_MODE: "cluster", REDIS_URL: "redis://a:6379,rediss://b:6379" }, "REDIS_URL: mixes redis:// and rediss://; TLS is for all nodes or none"],
    [{ REDIS_MODE: "ring" }, "REDIS_MODE: must be standalone, cluster or sentinel"],
    [{ REDIS_MODE: "cluster", REDIS_URL: "redis://a:6379,http://b" }, "REDIS_URL: must be a redis:// or rediss:// URL (several, comma-separated, for REDIS_MODE=cluster or sentinel)"],
  ])("a bad combination (%o) names the variables", (env, problem) => {
    const problems = problemsOf({ ...valid, ...env });
    expect(problems).toEqual([problem]);
    expect(problems.join(" ")).not.toContain("a:6379");
  });
});

// Issue 13, item 12: risky production settings used to be accepted.
describe("loadConfig: risky settings in production", () => {
  const RANDOM = "q8Zk3vT1xWn5Lr7Yp2Hs9Dc4Fg6Jb0Mu";
  const production = { ...valid, AUTH_SECRET: RANDOM, NODE_ENV: "production", PUBLIC_URL: "https://bff.example.com" };

  it("a random AUTH_SECRET, https origins and a loopback http origin pass", () => {
    const config = loadConfig({ ...production, ALLOWED_ORIGINS: "https://app.example.com, http://localhost:5173, http://127.0.0.1:5173, http://[::1]:5173" });
    expect(config.allowedOrigins).toHaveLength(4);
    expect(config.warnings).toEqual([]);
  });

  it("an http:// entry in ALLOWED_ORIGINS other than localhost, 127.0.0.1 or [::1] is refused, without echoing it", () => {
    for (const origin of ["http://app.example.com", "http://10.0.0.5:8080", "http://localhost.evil.example", "http://[::2]"]) {
      const problems = problemsOf({ ...production, ALLOWED_ORIGINS: `https://ok.example.com, ${origin}` });
      expect(problems, origin).toEqual(["ALLOWED_ORIGINS: must use https in production (http only for localhost, 127.0.0.1 or [::1])"]);
    }
    expect(loadConfig({ ...valid, ALLOWED_ORIGINS: "http://app.example.com" }).allowedOrigins).toEqual(["http://app.example.com"]);
  });

  it.each([
    ["one repeated character", "s".repeat(40)],
    ["fewer than 10 distinct characters", "abcdefghiabcdefghiihgfedcbaihgfedcba"],
    ["a repeated block", "0123456789abcdef0123456789abcdef"],
  ])("an AUTH_SECRET (or AUTH_SECRET_1..3) of %s is refused in production, without echoing it", (_kind, weak) => {
    for (const name of ["AUTH_SECRET", "AUTH_SECRET_1", "AUTH_SECRET_2", "AUTH_SECRET_3"]) {
      let message = "";
      try {
        loadConfig({ ...production, [name]: weak });
      } catch (error) {
        message = (error as ConfigError).message;
      }
      expect((message.match(/^ {2}- .*$/gm) ?? []).map((line) => line.slice(4)), name).toEqual([
        `${name}: is not random enough for production (at least 10 distinct characters, not a repeated block; e.g. \`openssl rand -base64 32\`)`,
      ]);
      expect(message).not.toContain(weak.slice(0, 8));
    }
    expect(loadConfig({ ...valid, AUTH_SECRET: weak }).authSecrets).toEqual([weak]);
  });

  it("a hex secret from `openssl rand -hex 32` passes", () => {
    expect(() => loadConfig({ ...production, AUTH_SECRET: "9f2c1e7a4b8d3f60a5c7e9b1d2f4a6c8e0b3d5f7a9c1e3b5d7f9a2c4e6b8d0f1" })).not.toThrow();
  });

  it("a redis:// REDIS_URL to a host that is not loopback is a start-up warning (any node of the list), without the URL", () => {
    const warning = "REDIS_URL: redis:// (no TLS) to a host that is not loopback: the Redis password and revocation ids cross the network in clear, and anyone on the path can alter what the replicas share; use rediss://";
    expect(loadConfig({ ...production, REDIS_URL: "redis://:pw@redis.internal:6379" }).warnings).toEqual([warning]);
    expect(loadConfig({ ...production, REDIS_MODE: "cluster", REDIS_URL: "redis://127.0.0.1:7000, redis://10.0.0.2:7000" }).warnings).toEqual([warning]);
    for (const url of ["rediss://:pw@redis.internal:6379", "redis://127.0.0.1:6379", "redis://localhost:6379", "redis://[::1]:6379"]) {
      expect(loadConfig({ ...production, REDIS_URL: url }).warnings, url).toEqual([]);
    }
    expect(loadConfig({ ...valid, REDIS_URL: "redis://redis.internal:6379" }).warnings).toEqual([]);
  });
});
