/**
 * `UPSTREAMS`: the routes of the token relay `/api/{upstream}/*`, parsed and
 * validated once at start-up. The value is inline JSON when it starts with
 * `{`, otherwise a path to a `.json`, `.yaml` or `.yml` file. Every problem is
 * one line naming where it is (`UPSTREAMS.orders.url: must be an http(s) URL`),
 * never the value.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

export type UpstreamTokenMode = "user" | "client" | "user-or-none";

export interface UpstreamRewrite {
  readonly from: RegExp;
  readonly to: string;
}

export interface UpstreamConfig {
  readonly name: string;
  /** Base URL: requests go to `<origin><basePath><path after /api/<name>><query>`. */
  readonly url: URL;
  /** The URL's path without a trailing slash ("" for the root). */
  readonly basePath: string;
  readonly token: UpstreamTokenMode;
  /** Resource-server scopes of the client-credentials token (`client` mode only). */
  readonly scopes: readonly string[];
  /**
   * Deadline for the upstream's response headers, from the start of the upstream
   * call (connecting and sending the request and its body included; not the token
   * step before it), and for each pause in the answer's body.
   */
  readonly timeoutMs: number;
  /** Allowed methods (upper case); undefined allows all. */
  readonly methods: readonly string[] | undefined;
  /** Applied to the raw (percent-encoded) path after `/api/<name>`. */
  readonly rewrite: UpstreamRewrite | undefined;
  /** Pass the upstream's `Set-Cookie` headers back to the browser. */
  readonly passSetCookie: boolean;
  /**
   * Cognito groups of which the user must be in at least one (`cognito:groups` of the access token sent);
   * undefined: no group rule. `user` mode only.
   */
  readonly groups: readonly string[] | undefined;
}

export type Upstreams = Readonly<Record<string, UpstreamConfig>>;

export const UPSTREAM_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 30_000;
const MAX_UPSTREAM_TIMEOUT_MS = 600_000;
const METHOD_TOKEN = /^[A-Za-z]{1,20}$/;
/** A resource-server scope (`identifier/name`) or a plain scope; no whitespace. */
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/**
 * A Cognito group name: 1-128 letters, marks, symbols, digits or punctuation, no whitespace.
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateGroup.html#CognitoUserPools-CreateGroup-request-GroupName
 */
const GROUP_NAME = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;

const upstreamSchema = z
  .strictObject({
    url: z
      .string({ message: "must be an http(s) URL" })
      .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: "must be an http(s) URL" })
      .refine((v) => !URL.canParse(v) || (new URL(v).search === "" && new URL(v).hash === "" && new URL(v).username === ""), {
        message: "must not carry a query, fragment or credentials",
      }),
    token: z.enum(["user", "client", "user-or-none"], { message: "must be user, client or user-or-none" }),
    scopes: z.array(z.string().regex(SCOPE, { message: "must be a scope without spaces" }), { message: "must be a list of scopes" }).optional(),
    timeoutMs: z
      .number({ message: "must be a number of milliseconds" })
      .int({ message: "must be a whole number of milliseconds" })
      .min(1, { message: "must be at least 1" })
      .max(MAX_UPSTREAM_TIMEOUT_MS, { message: `must be at most ${MAX_UPSTREAM_TIMEOUT_MS}` })
      .optional(),
    methods: z
      .array(z.string().regex(METHOD_TOKEN, { message: "must be an HTTP method such as GET" }), { message: "must be a list of HTTP methods" })
      .min(1, { message: "must list at least one method (leave it out to allow all)" })
      .optional(),
    rewrite: z
      .strictObject(
        {
          from: z.string({ message: "must be a regular expression" }).refine(isRegExp, { message: "must be a valid regular expression" }),
          to: z.string({ message: "must be a replacement string" }),
        },
        { message: 'must be {"from": "<regex>", "to": "<replacement>"}' },
      )
      .optional(),
    passSetCookie: z.boolean({ message: "must be true or false" }).optional(),
    groups: z
      .array(z.string().regex(GROUP_NAME, { message: "must be Cognito group names (1-128 characters, no spaces)" }), {
        message: "must be a list of Cognito group names",
      })
      .min(1, { message: "must list at least one group (leave it out for no group rule)" })
      .optional(),
  }, { message: "must be an object with url and token" })
  .superRefine((value, ctx) => {
    if (value.token === "client" && !value.scopes?.length) {
      ctx.addIssue({ code: "custom", path: ["scopes"], message: "is required and must not be empty for token client" });
    }
    if (value.token !== "client" && value.scopes !== undefined) {
      ctx.addIssue({ code: "custom", path: ["scopes"], message: "applies only to token client (user tokens carry their own scopes)" });
    }
    // A client upstream gets the BFF's own token, which is in no group; an anonymous user-or-none call is in none either.
    if (value.groups !== undefined && value.token !== "user") {
      ctx.addIssue({ code: "custom", path: ["groups"], message: "applies only to token user (the token sent must be the signed-in user's)" });
    }
  });

function isRegExp(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/** Inline JSON, or the text of the JSON/YAML file the value names, as a plain value. */
function readSource(value: string, problems: string[]): unknown {
  if (value.startsWith("{")) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      problems.push("UPSTREAMS: is not valid JSON");
      return undefined;
    }
  }
  const yaml = /\.ya?ml$/i.test(value);
  if (!yaml && !/\.json$/i.test(value)) {
    problems.push("UPSTREAMS: must be inline JSON starting with { or a path to a .json, .yaml or .yml file");
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(value, "utf8");
  } catch (error) {
    problems.push(`UPSTREAMS: cannot read the file it names (${(error as NodeJS.ErrnoException).code ?? "read error"})`);
    return undefined;
  }
  try {
    return yaml ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
  } catch {
    problems.push(`UPSTREAMS: the file it names is not valid ${yaml ? "YAML" : "JSON"}`);
    return undefined;
  }
}

function toUpstream(name: string, raw: z.output<typeof upstreamSchema>): UpstreamConfig {
  const url = new URL(raw.url);
  return Object.freeze({
    name,
    url,
    basePath: url.pathname.replace(/\/+$/, ""),
    token: raw.token,
    scopes: Object.freeze(raw.token === "client" ? [...new Set(raw.scopes)] : []),
    timeoutMs: raw.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
    methods: raw.methods ? Object.freeze([...new Set(raw.methods.map((m) => m.toUpperCase()))]) : undefined,
    rewrite: raw.rewrite ? Object.freeze({ from: new RegExp(raw.rewrite.from), to: raw.rewrite.to }) : undefined,
    passSetCookie: raw.passSetCookie ?? false,
    groups: raw.groups ? Object.freeze([...new Set(raw.groups)]) : undefined,
  });
}

/**
 * Parses `UPSTREAMS` (undefined or empty: no routes). Pushes one line per
 * problem to `problems` and returns what was valid.
 */
export function parseUpstreams(value: string | undefined, problems: string[]): Upstreams {
  if (value === undefined || value.trim() === "") return Object.freeze({});
  const source = readSource(value.trim(), problems);
  if (source === undefined) return Object.freeze({});
  if (typeof source !== "object" || source === null || Array.isArray(source)) {
    problems.push('UPSTREAMS: must be an object keyed by upstream name, e.g. {"orders": {"url": "https://orders.internal", "token": "user"}}');
    return Object.freeze({});
  }
  const upstreams: Record<string, UpstreamConfig> = {};
  for (const [name, entry] of Object.entries(source)) {
    if (!UPSTREAM_NAME.test(name)) {
      problems.push(`UPSTREAMS.${name}: an upstream name must be 1-63 lower-case letters, digits or -, starting with a letter or digit`);
      continue;
    }
    const parsed = upstreamSchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const where = ["UPSTREAMS", name, ...issue.path.filter((p) => typeof p !== "number").map(String)].join(".");
        const keys = issue.code === "unrecognized_keys" ? `unknown key(s) ${issue.keys.join(", ")}` : issue.message;
        problems.push(`${where}: ${keys}`);
      }
      continue;
    }
    upstreams[name] = toUpstream(name, parsed.data);
  }
  return Object.freeze(upstreams);
}

/** True when an upstream needs Cognito client-credentials tokens. */
export function needsClientCredentials(upstreams: Upstreams): boolean {
  return Object.values(upstreams).some((u) => u.token === "client");
}
