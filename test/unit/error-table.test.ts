import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BffError, ERROR_TABLE, type ErrorCode } from "../../src/errors.js";

const spec = parse(readFileSync(new URL("../../openapi.yaml", import.meta.url), "utf8"));

describe("the error table", () => {
  it("lists exactly the error codes openapi.yaml documents", () => {
    expect(spec.components.schemas.Error.properties.error.enum.sort()).toEqual(Object.keys(ERROR_TABLE).sort());
  });

  it("gives each code a 4xx or 5xx status and a description", () => {
    for (const [code, entry] of Object.entries(ERROR_TABLE)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.description.length, code).toBeGreaterThan(10);
      const error = new BffError(code as ErrorCode, { logDetail: "private detail" });
      expect(error.toBody()).toEqual({ error: code, error_description: entry.description });
      expect(JSON.stringify(error.toBody())).not.toContain("private detail");
    }
  });
});
