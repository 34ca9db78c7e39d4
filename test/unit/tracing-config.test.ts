/**
 * The OTEL_* variables through loadConfig(): when tracing is on, where spans
 * go, and bad values named without their value.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const valid = {
  AUTH_SECRET: "s".repeat(40),
  COGNITO_ISSUER: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
  COGNITO_CLIENT_ID: "abc123client",
};

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig({ ...valid, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("tracing configuration", () => {
  it("is off without an endpoint, and off with OTEL_SDK_DISABLED=true even with one", () => {
    expect(loadConfig(valid).tracing).toBeUndefined();
    expect(loadConfig({ ...valid, OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).tracing).toBeUndefined();
  });

  it("appends v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT and takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is", () => {
    expect(loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).tracing?.url).toBe("http://collector:4318/v1/traces");
    expect(loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: "https://otlp.example.com/prefix/" }).tracing?.url).toBe("https://otlp.example.com/prefix/v1/traces");
    const both = loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:9999/custom" });
    expect(both.tracing?.url).toBe("http://traces:9999/custom");
  });

  it("has the specification's defaults and the service's own name", () => {
    expect(loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).tracing).toEqual({
      url: "http://collector:4318/v1/traces",
      headers: {},
      timeoutMs: 10_000,
      scheduledDelayMs: 5000,
      serviceName: "cognito-bff",
      resourceAttributes: {},
      sampler: "parentbased_always_on",
      samplerRatio: 1,
    });
  });

  it("reads headers, resource attributes, service name and sampler, the signal-specific variables winning", () => {
    const tracing = loadConfig({
      ...valid,
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=abc%3D%3D, x-team = bff",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=traces",
      OTEL_EXPORTER_OTLP_TIMEOUT: "2000",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "1500",
      OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attributes,deployment.environment.name=prod%2Ceu",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    }).tracing;
    expect(tracing).toMatchObject({
      headers: { "x-api-key": "abc==", "x-team": "traces" },
      timeoutMs: 1500,
      serviceName: "from-attributes",
      resourceAttributes: { "deployment.environment.name": "prod,eu" },
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
    });
    expect(loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SERVICE_NAME: "bff-eu", OTEL_RESOURCE_ATTRIBUTES: "service.name=x" }).tracing?.serviceName).toBe("bff-eu");
  });

  it("names a malformed OTEL_EXPORTER_OTLP_HEADERS without printing it (it may hold an API key)", () => {
    for (const headers of ["just-a-secret-value", "x-api-key=secret\r\nx-evil=1", "bad name=secret-value", "x=%E0%A4%A"]) {
      const problems = problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_EXPORTER_OTLP_HEADERS: headers });
      expect(problems).toEqual([expect.stringMatching(/^OTEL_EXPORTER_OTLP_HEADERS: must be name=value pairs/)]);
      expect(problems.join("\n")).not.toContain("secret");
    }
  });

  it("names each bad value: endpoint, protocol, sampler, sampler ratio, timeout, resource attributes", () => {
    const problems = problemsOf({
      OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
      OTEL_TRACES_SAMPLER: "sometimes",
      OTEL_TRACES_SAMPLER_ARG: "1.5",
      OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "soon",
      OTEL_RESOURCE_ATTRIBUTES: "novalue",
      OTEL_SDK_DISABLED: "maybe",
    });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "OTEL_EXPORTER_OTLP_PROTOCOL",
      "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
      "OTEL_RESOURCE_ATTRIBUTES",
      "OTEL_SDK_DISABLED",
      "OTEL_TRACES_SAMPLER",
      "OTEL_TRACES_SAMPLER_ARG",
    ]);
  });

  it("accepts http/protobuf with a warning that spans are sent as OTLP/HTTP JSON", () => {
    const config = loadConfig({ ...valid, OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" });
    expect(config.tracing).toBeDefined();
    expect(config.warnings.some((w) => w.startsWith("OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf"))).toBe(true);
  });
});
