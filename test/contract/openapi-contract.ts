/**
 * Checks real HTTP answers against openapi.yaml: the status must be documented
 * for the operation, the content type must be one the spec lists, every
 * required header must be present and match its schema, and the body must
 * match the schema (OpenAPI 3.1 schemas are JSON Schema 2020-12, so Ajv's 2020
 * validator reads them as they are). Every (operation, status) checked is
 * recorded, so a test can require that every documented one was seen.
 */
import { readFileSync } from "node:fs";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parse } from "yaml";

type Json = Record<string, unknown>;

export const spec = parse(readFileSync(new URL("../../openapi.yaml", import.meta.url), "utf8")) as Json;
const SPEC_ID = "openapi.json";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
// Not strict: OpenAPI adds keywords of its own (`example`, `discriminator`) to schemas.
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema(spec, SPEC_ID);
const headerAjv = addFormats(new Ajv2020({ strict: false, allErrors: true, coerceTypes: true }));
headerAjv.addSchema(spec, SPEC_ID);

export interface Operation {
  operationId: string;
  method: string;
  path: string;
  /** JSON pointer of the operation in the spec. */
  pointer: string;
  responses: Json;
}

function escape(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function resolvePointer(pointer: string): unknown {
  let node: unknown = spec;
  for (const raw of pointer.replace(/^#\//, "").split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    node = (node as Json | undefined)?.[key];
  }
  return node;
}

/** Follows an OpenAPI `$ref` (to a response or header); returns the target and its pointer. */
function deref(node: Json, pointer: string): { node: Json; pointer: string } {
  const ref = node.$ref;
  if (typeof ref !== "string") return { node, pointer };
  return deref(resolvePointer(ref) as Json, ref);
}

export const operations: Operation[] = Object.entries(spec.paths as Record<string, Json>).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((method) => {
    const op = item[method] as Json;
    return {
      operationId: String(op.operationId),
      method,
      path,
      pointer: `#/paths/${escape(path)}/${method}`,
      responses: op.responses as Json,
    };
  }),
);

/** Every `operationId status` the spec documents. */
export function documentedPairs(): string[] {
  return operations.flatMap((op) => Object.keys(op.responses).map((status) => `${op.operationId} ${status}`)).sort();
}

const covered = new Set<string>();
/** Every `operationId status` checked so far (this test file's process). */
export function coveredPairs(): string[] {
  return [...covered].sort();
}

const validators = new Map<string, ValidateFunction>();
function validatorFor(pointer: string, headers = false): ValidateFunction {
  const key = `${headers}${pointer}`;
  let validate = validators.get(key);
  if (!validate) {
    const ref = `${SPEC_ID}${pointer}`;
    validate = headers
      ? headerAjv.compile({ type: "object", properties: { value: { $ref: ref } }, required: ["value"] })
      : ajv.compile({ $ref: ref });
    validators.set(key, validate);
  }
  return validate;
}

function fail(where: string, message: string): never {
  throw new Error(`${where}: ${message}`);
}

/** What {@link checkResponse} read from the answer. */
export interface CheckedResponse {
  status: number;
  headers: Headers;
  text: string;
  body: unknown;
}

/**
 * Reads `response` and checks it against the operation's documented answer
 * for its status. Throws a message naming the operation, status and problem.
 */
export async function checkResponse(operationId: string, response: Response): Promise<CheckedResponse> {
  const op = operations.find((o) => o.operationId === operationId) ?? fail(operationId, "no such operation in openapi.yaml");
  // An exact status first, then the operation's `default` answer (e.g. the relay's passed-through ones).
  const status = String(response.status) in op.responses ? String(response.status) : "default";
  const where = `${operationId} ${response.status}`;
  const text = await response.text();
  const documented = op.responses[status] as Json | undefined;
  if (!documented) fail(where, `status not documented (body: ${text.slice(0, 200)})`);
  const { node: answer, pointer } = deref(documented, `${op.pointer}/responses/${status}`);

  for (const [name, headerNode] of Object.entries((answer.headers ?? {}) as Record<string, Json>)) {
    const { node: header, pointer: headerPointer } = deref(headerNode, `${pointer}/headers/${escape(name)}`);
    const value = response.headers.get(name);
    if (value === null) {
      if (header.required === true) fail(where, `required header ${name} missing`);
      continue;
    }
    if (name.toLowerCase() === "set-cookie" || !header.schema) continue;
    const validate = validatorFor(`${headerPointer}/schema`, true);
    if (!validate({ value })) fail(where, `header ${name} does not match: ${ajv.errorsText(validate.errors)}`);
  }

  const content = answer.content as Record<string, Json> | undefined;
  let body: unknown = text;
  if (content) {
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    // The most specific documented range that covers the answer's type (`application/json`, `application/*`, `*/*`).
    const documentedType = [mediaType, `${mediaType.split("/")[0]}/*`, "*/*"].find((type) => type in content);
    if (!documentedType) fail(where, `content type ${mediaType || "(none)"} not documented (${Object.keys(content).join(", ")})`);
    if (mediaType === "application/json") {
      try {
        body = JSON.parse(text);
      } catch {
        fail(where, "body is not JSON");
      }
    }
    if (content[documentedType]!.schema) {
      const validate = validatorFor(`${pointer}/content/${escape(documentedType)}/schema`);
      if (!validate(body)) fail(where, `body does not match: ${ajv.errorsText(validate.errors)} (body: ${text.slice(0, 300)})`);
    }
  } else if (text.length > 0 && response.status !== 302) {
    fail(where, `a body came (${text.slice(0, 100)}) where none is documented`);
  }
  covered.add(`${operationId} ${status}`);
  return { status: response.status, headers: response.headers, text, body };
}
