/**
 * Environment -> typed, validated, frozen configuration.
 *
 * This is the only module that reads environment variables (and only through
 * the `env` object handed to {@link loadConfig}). Every bad or missing variable
 * is reported by name in one {@link ConfigError}; values are never echoed, so a
 * secret pasted into the wrong variable does not end up in a log.
 */
import { z } from "zod";
import { needsClientCredentials, parseUpstreams, type Upstreams } from "./proxy/upstreams.js";
import { buildTracingConfig, OTLP_PROTOCOLS, TRACES_SAMPLERS, type TracingConfig } from "./tracing/tracing-config.js";

export type { TracingConfig } from "./tracing/tracing-config.js";

export type TokenAuthMethod = "client_secret_basic" | "client_secret_post" | "none";
export type NodeEnv = "production" | "development" | "test";

export interface CognitoConfig {
  /** `https://cognito-idp.<region>.amazonaws.com/<poolId>` (http for emulators outside production). */
  readonly issuer: string;
  /**
   * The pool id's region; for a pool id without one (an emulator's `local_AbC123`,
   * only with an endpoint override) `AWS_REGION`, else {@link DEFAULT_EMULATOR_REGION}.
   */
  readonly region: string;
  readonly userPoolId: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  /** Hosted UI base URL without trailing slash, when configured. */
  readonly domain: string | undefined;
  /** Cognito API endpoint override (emulators); undefined means the AWS default for the region. */
  readonly endpoint: string | undefined;
  readonly tokenAuthMethod: TokenAuthMethod;
  readonly refreshTokenRotation: boolean;
  /** Check the ID token's `nonce` at sign-in; off only for emulators that do not echo it (cognito-local). */
  readonly nonceCheck: boolean;
  /** Identity provider names a sign-in may ask for with `identity_provider` (COGNITO_IDENTITY_PROVIDERS); none by default. */
  readonly identityProviders: readonly string[];
  readonly scopes: readonly string[];
  /** Deadline for one refresh, all attempts included. */
  readonly timeoutMs: number;
  /** Attempts per Cognito call (1 = no retry). */
  readonly maxAttempts: number;
}

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly port: number;
  /**
   * The internal listener (INTERNAL_PORT): `client` upstreams for services without a session,
   * `/metrics`, `/readyz` and `/admin/*`; those are then not served on the public port.
   */
  readonly internal: { readonly port: number; readonly host: string } | undefined;
  /** Limits on slow clients (node:http's headersTimeout, requestTimeout, keepAliveTimeout). */
  readonly http: { readonly headersTimeoutMs: number; readonly requestTimeoutMs: number; readonly keepAliveTimeoutMs: number };
  readonly logLevel: string;
  readonly trustProxy: boolean | number | string;
  /** Public origin of this service, e.g. `https://bff.example.com`. */
  readonly publicUrl: URL;
  /** SPA origins allowed by CORS (with credentials). */
  readonly allowedOrigins: readonly string[];
  /** Session secrets, the one that encrypts first (Auth.js order: AUTH_SECRET_3, _2, _1, AUTH_SECRET). */
  readonly authSecrets: readonly string[];
  readonly sessionMaxAgeSeconds: number;
  readonly refreshSkewSeconds: number;
  readonly includeIdToken: boolean;
  readonly redisUrl: string | undefined;
  /** How REDIS_URL is read: one server, a cluster's seed nodes, or the sentinels of a primary. */
  readonly redisMode: "standalone" | "cluster" | "sentinel";
  readonly redisSentinelMaster: string | undefined;
  /** Where sessions live: sealed in the cookie, or in Redis behind an opaque ticket in the cookie. */
  readonly sessionStore: "cookie" | "redis";
  /** Prefix of every Redis key and channel (share one Redis between deployments safely). */
  readonly redisKeyPrefix: string;
  /** How long a refresh result answers waiters and late requests (at least the rotation grace period). */
  readonly refreshResultTtlSeconds: number;
  /** A forced refresh (`POST /token/refresh`) of a token younger than this returns that token, without calling Cognito. */
  readonly refreshMinIntervalSeconds: number;
  /** Bearer secret of the admin endpoints; undefined turns them off (404). */
  readonly adminSecret: string | undefined;
  readonly cognito: CognitoConfig;
  /** Routes of the token relay `/api/{upstream}/*`, by name. */
  readonly upstreams: Upstreams;
  /** OpenTelemetry tracing (the standard `OTEL_*` variables); undefined when off. */
  readonly tracing: TracingConfig | undefined;
  /** Settings that are valid but weaken something; logged once at start-up (never a value). */
  readonly warnings: readonly string[];
}

/** Thrown by {@link loadConfig}; `problems` holds one line per bad variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

const MIN_SECRET_LENGTH = 32;
/**
 * Region of a pool id without one (`local_AbC123`) when `AWS_REGION` is unset.
 * Only reachable with `COGNITO_ENDPOINT` set: the SDK needs some region to sign
 * and name requests, and an emulator ignores it; `us-east-1` is what local AWS
 * emulators and the AWS CLI's examples assume.
 */
export const DEFAULT_EMULATOR_REGION = "us-east-1";
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** A comma-separated list, trimmed, without empty items. */
function splitList(value: string): string[] {
  return value.split(",").map((item) => item.trim()).filter(Boolean);
}

/**
 * A user pool identity provider name as Cognito's API types it (`ProviderNameType`):
 * 1-32 letters, marks, symbols, digits or punctuation. Whitespace is refused too:
 * CreateIdentityProvider's `ProviderNameTypeV2` allows none, so no provider has it.
 * @see https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateIdentityProvider.html
 */
const PROVIDER_NAME = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,32}$/u;

function isProviderName(name: string): boolean {
  return PROVIDER_NAME.test(name);
}

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const booleanVar = (fallback: boolean) =>
  optionalString.pipe(
    z
      .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
      .optional()
      .transform((v) => (v === undefined ? fallback : v === "true" || v === "1" || v === "yes")),
  );

const integerVar = (fallback: number, min: number, max: number) =>
  optionalString.pipe(
    z
      .string()
      .regex(/^\d+$/, { message: "must be a whole number" })
      .transform(Number)
      .pipe(z.number().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }))
      .optional()
      .transform((v) => v ?? fallback),
  );

const urlVar = optionalString.pipe(
  z
    .string()
    .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), { message: "must be an http(s) URL" })
    .optional(),
);

const secretVar = optionalString.pipe(
  z.string().min(MIN_SECRET_LENGTH, { message: `must be at least ${MIN_SECRET_LENGTH} characters` }).optional(),
);

const schema = z.object({
  NODE_ENV: optionalString.pipe(
    z.enum(["production", "development", "test"], { message: "must be production, development or test" }).default("development"),
  ),
  PORT: integerVar(3000, 0, 65535),
  INTERNAL_PORT: optionalString.pipe(
    z
      .string()
      .regex(/^\d+$/, { message: "must be a port number" })
      .transform(Number)
      .pipe(z.number().min(1, { message: "must be at least 1" }).max(65535, { message: "must be at most 65535" }))
      .optional(),
  ),
  INTERNAL_HOST: optionalString.pipe(
    z
      .string()
      .regex(/^[\w.:-]{1,253}$/, { message: "must be a host name or an IP address to listen on" })
      .default("127.0.0.1"),
  ),
  HTTP_HEADERS_TIMEOUT_MS: integerVar(10_000, 1000, 120_000),
  HTTP_REQUEST_TIMEOUT_MS: integerVar(120_000, 1000, 3_600_000),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integerVar(65_000, 1000, 600_000),
  LOG_LEVEL: optionalString.pipe(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info")),
  TRUST_PROXY: optionalString,
  PUBLIC_URL: urlVar,
  ALLOWED_ORIGINS: optionalString,
  AUTH_SECRET: secretVar,
  AUTH_SECRET_1: secretVar,
  AUTH_SECRET_2: secretVar,
  AUTH_SECRET_3: secretVar,
  SESSION_MAX_AGE_SECONDS: integerVar(30 * 24 * 3600, 300, 400 * 24 * 3600),
  REFRESH_SKEW_SECONDS: integerVar(60, 0, 3600),
  TOKEN_INCLUDE_ID_TOKEN: booleanVar(false),
  REDIS_URL: optionalString.pipe(
    z
      .string()
      .refine((v) => splitList(v).every((u) => URL.canParse(u) && /^rediss?:$/.test(new URL(u).protocol)), {
        message: "must be a redis:// or rediss:// URL (several, comma-separated, for REDIS_MODE=cluster or sentinel)",
      })
      .optional(),
  ),
  REDIS_MODE: optionalString.pipe(
    z.enum(["standalone", "cluster", "sentinel"], { message: "must be standalone, cluster or sentinel" }).default("standalone"),
  ),
  REDIS_SENTINEL_MASTER: optionalString.pipe(z.string().regex(/^[\w.-]{1,64}$/, { message: "must be a Sentinel master name (letters, digits, _ . -)" }).optional()),
  REDIS_KEY_PREFIX: optionalString.pipe(
    z
      .string()
      .regex(/^[\w:.-]{1,64}$/, { message: "must be 1-64 letters, digits, or _ : . -" })
      .optional()
      .transform((v) => v ?? "cognito-bff:"),
  ),
  REFRESH_RESULT_TTL_SECONDS: integerVar(60, 1, 600),
  REFRESH_MIN_INTERVAL_SECONDS: integerVar(10, 0, 3600),
  SESSION_STORE: optionalString.pipe(z.enum(["cookie", "redis"], { message: "must be cookie or redis" }).default("cookie")),
  ADMIN_SECRET: secretVar,
  COGNITO_ISSUER: urlVar,
  COGNITO_CLIENT_ID: optionalString,
  COGNITO_CLIENT_SECRET: optionalString,
  COGNITO_DOMAIN: urlVar,
  COGNITO_ENDPOINT: urlVar,
  COGNITO_TOKEN_AUTH_METHOD: optionalString.pipe(
    z
      .enum(["client_secret_basic", "client_secret_post"], { message: "must be client_secret_basic or client_secret_post" })
      .default("client_secret_basic"),
  ),
  COGNITO_REFRESH_TOKEN_ROTATION: booleanVar(false),
  COGNITO_NONCE_CHECK: booleanVar(true),
  COGNITO_IDENTITY_PROVIDERS: optionalString.pipe(
    z
      .string()
      .refine((v) => splitList(v).every(isProviderName), {
        message: "must be identity provider names as Cognito allows them, comma-separated (1-32 letters, digits, symbols or punctuation each, no whitespace), e.g. Google,SignInWithApple",
      })
      .optional()
      .transform((v) => Object.freeze([...new Set(splitList(v ?? ""))])),
  ),
  AWS_REGION: optionalString.pipe(
    z
      .string()
      .regex(/^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/, { message: "must be an AWS region such as eu-west-1" })
      .optional(),
  ),
  COGNITO_SCOPES: optionalString,
  COGNITO_TIMEOUT_MS: integerVar(5000, 100, 60_000),
  COGNITO_MAX_ATTEMPTS: integerVar(3, 1, 5),
  UPSTREAMS: optionalString,
  // OpenTelemetry's standard variables (tracing/tracing-config.ts combines them); tracing is on with an endpoint.
  OTEL_SDK_DISABLED: booleanVar(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: urlVar,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: urlVar,
  OTEL_EXPORTER_OTLP_HEADERS: optionalString,
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: optionalString,
  OTEL_EXPORTER_OTLP_TIMEOUT: integerVar(10_000, 1, 600_000),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: optionalString.pipe(
    z
      .string()
      .regex(/^\d+$/, { message: "must be a whole number" })
      .transform(Number)
      .pipe(z.number().min(1, { message: "must be at least 1" }).max(600_000, { message: "must be at most 600000" }))
      .optional(),
  ),
  OTEL_EXPORTER_OTLP_PROTOCOL: optionalString.pipe(z.enum(OTLP_PROTOCOLS, { message: "must be http/json or http/protobuf (spans go over OTLP/HTTP; grpc is not supported)" }).optional()),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: optionalString.pipe(z.enum(OTLP_PROTOCOLS, { message: "must be http/json or http/protobuf (spans go over OTLP/HTTP; grpc is not supported)" }).optional()),
  OTEL_SERVICE_NAME: optionalString,
  OTEL_RESOURCE_ATTRIBUTES: optionalString,
  OTEL_TRACES_SAMPLER: optionalString.pipe(z.enum(TRACES_SAMPLERS, { message: `must be one of ${TRACES_SAMPLERS.join(", ")}` }).optional()),
  OTEL_TRACES_SAMPLER_ARG: optionalString.pipe(
    z
      .string()
      .regex(/^(?:0|1|0?\.\d+|1\.0+)$/, { message: "must be a sampling ratio between 0 and 1, e.g. 0.25" })
      .transform(Number)
      .optional(),
  ),
  OTEL_BSP_SCHEDULE_DELAY: integerVar(5000, 1, 60_000),
});

type RawConfig = z.output<typeof schema>;

/** Every environment variable the service reads (the README's configuration table is checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(schema.shape));

/**
 * The pool id is the issuer's last path segment. On AWS its prefix before `_`
 * is the region (`eu-west-1_AbC123`); emulators use other prefixes
 * (cognito-local: `local_AbC123`), and then `region` is undefined.
 */
function parseIssuer(issuer: string): { region: string | undefined; userPoolId: string } | undefined {
  const url = new URL(issuer);
  const userPoolId = url.pathname.replace(/\/+$/, "").split("/").pop() ?? "";
  const match = /^([a-z0-9-]+)_[0-9A-Za-z]+$/i.exec(userPoolId);
  if (!match?.[1]) return undefined;
  const poolRegion = /^[a-z]{2}(?:-[a-z]+)+-\d$/.test(match[1]) ? match[1] : undefined;
  const hostRegion = /^cognito-idp\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
  return { region: poolRegion && (hostRegion ?? poolRegion), userPoolId };
}

function parseOrigins(value: string | undefined, problems: string[]): string[] {
  if (!value) return [];
  const origins: string[] = [];
  for (const item of value.split(",").map((s) => s.trim()).filter(Boolean)) {
    if (!URL.canParse(item)) {
      problems.push("ALLOWED_ORIGINS: every entry must be an origin such as https://app.example.com");
      continue;
    }
    const url = new URL(item);
    if (!/^https?:$/.test(url.protocol) || url.origin !== item.replace(/\/$/, "")) {
      problems.push("ALLOWED_ORIGINS: every entry must be an origin (scheme, host, port; no path), such as https://app.example.com");
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === "false" || value === "0") return false;
  if (value === "true") return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/**
 * Parses each variable on its own, so that one badly formatted variable does
 * not hide the others (a failed parse of the whole object would stop before
 * the checks of required and combined variables). A variable that fails is
 * left out of `raw` and named in `failed`.
 */
function parseEach(env: Record<string, string | undefined>, problems: string[]): { raw: Partial<RawConfig>; failed: ReadonlySet<string> } {
  const raw: Record<string, unknown> = {};
  const failed = new Set<string>();
  for (const [name, field] of Object.entries(schema.shape)) {
    const result = field.safeParse(env[name]);
    if (result.success) raw[name] = result.data;
    else {
      failed.add(name);
      // The first message is the one that matters ("must be a whole number"); never the value.
      problems.push(`${name}: ${result.error.issues[0]?.message ?? "is invalid"}`);
    }
  }
  return { raw: raw as Partial<RawConfig>, failed };
}

/** REDIS_MODE, REDIS_URL and REDIS_SENTINEL_MASTER together. */
function checkRedis(raw: Partial<RawConfig>, failed: ReadonlySet<string>, problems: string[]): void {
  if (failed.has("REDIS_URL") || failed.has("REDIS_MODE")) return;
  const urls = raw.REDIS_URL ? splitList(raw.REDIS_URL) : [];
  const mode = raw.REDIS_MODE ?? "standalone";
  if (mode !== "standalone" && urls.length === 0) problems.push(`REDIS_MODE, REDIS_URL: REDIS_MODE=${mode} needs REDIS_URL (${mode === "cluster" ? "the cluster's seed nodes" : "the sentinels"}, comma-separated)`);
  if (mode === "standalone" && urls.length > 1) problems.push("REDIS_URL, REDIS_MODE: several URLs need REDIS_MODE=cluster (seed nodes) or REDIS_MODE=sentinel (the sentinels)");
  if (new Set(urls.map((u) => new URL(u).protocol)).size > 1) problems.push("REDIS_URL: mixes redis:// and rediss://; TLS is for all nodes or none");
  if (mode === "sentinel" && !raw.REDIS_SENTINEL_MASTER && !failed.has("REDIS_SENTINEL_MASTER")) {
    problems.push("REDIS_SENTINEL_MASTER, REDIS_MODE: REDIS_MODE=sentinel needs the name of the primary the sentinels monitor");
  }
  if (mode !== "sentinel" && raw.REDIS_SENTINEL_MASTER) problems.push("REDIS_SENTINEL_MASTER, REDIS_MODE: REDIS_SENTINEL_MASTER is only for REDIS_MODE=sentinel");
}

/** Loopback hosts, where http and a Redis without TLS stay on the machine. */
const LOOPBACK_HOSTS = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
/** Fewest distinct characters of a production AUTH_SECRET (`openssl rand -hex 32` has 16, `-base64 32` about 30). */
const MIN_SECRET_DISTINCT_CHARACTERS = 10;

/**
 * Whether a secret is too uniform to be random: fewer than
 * {@link MIN_SECRET_DISTINCT_CHARACTERS} distinct characters (`aaaa…`,
 * `abab…`, a date), or one block repeated (`0123456789abcdef` twice).
 * Length is checked already ({@link MIN_SECRET_LENGTH}).
 */
function isLowVarietySecret(secret: string): boolean {
  if (new Set(secret).size < MIN_SECRET_DISTINCT_CHARACTERS) return true;
  return (secret + secret).indexOf(secret, 1) < secret.length;
}

/**
 * Settings that pass the format checks but are unsafe in production: an SPA
 * origin on plain http (a network attacker could then read the tokens the
 * BFF answers that origin with), a guessable AUTH_SECRET. Values are never
 * echoed. A Redis without TLS off the machine is only a warning: it may sit
 * in a private network the operator trusts.
 */
function checkProduction(raw: Partial<RawConfig>, failed: ReadonlySet<string>, problems: string[], warnings: string[]): void {
  const httpOrigins = splitList(raw.ALLOWED_ORIGINS ?? "").filter((item) => URL.canParse(item) && new URL(item).protocol === "http:");
  if (httpOrigins.some((item) => !LOOPBACK_HOSTS.test(new URL(item).hostname))) {
    problems.push("ALLOWED_ORIGINS: must use https in production (http only for localhost, 127.0.0.1 or [::1])");
  }
  for (const name of ["AUTH_SECRET", "AUTH_SECRET_1", "AUTH_SECRET_2", "AUTH_SECRET_3"] as const) {
    const secret = raw[name];
    if (secret && isLowVarietySecret(secret)) {
      problems.push(`${name}: is not random enough for production (at least ${MIN_SECRET_DISTINCT_CHARACTERS} distinct characters, not a repeated block; e.g. \`openssl rand -base64 32\`)`);
    }
  }
  if (raw.REDIS_URL && !failed.has("REDIS_URL")) {
    const plain = splitList(raw.REDIS_URL).filter((u) => new URL(u).protocol === "redis:" && !LOOPBACK_HOSTS.test(new URL(u).hostname));
    if (plain.length > 0) {
      warnings.push("REDIS_URL: redis:// (no TLS) to a host that is not loopback: the Redis password and revocation ids cross the network in clear, and anyone on the path can alter what the replicas share; use rediss://");
    }
  }
}

/**
 * Checks that need several variables at once; pushes one line per problem.
 * A variable in `failed` has been reported already: it is neither "required"
 * nor checked again here.
 */
function checkCombinations(raw: Partial<RawConfig>, failed: ReadonlySet<string>, problems: string[], warnings: string[]): void {
  const production = raw.NODE_ENV === "production";
  const secretNames = ["AUTH_SECRET", "AUTH_SECRET_1", "AUTH_SECRET_2", "AUTH_SECRET_3"] as const;
  if (!secretNames.some((name) => raw[name] || failed.has(name))) {
    problems.push(`AUTH_SECRET: is required (at least ${MIN_SECRET_LENGTH} random characters, e.g. \`openssl rand -base64 32\`)`);
  }
  if (!raw.COGNITO_ISSUER) {
    if (!failed.has("COGNITO_ISSUER")) problems.push("COGNITO_ISSUER: is required, e.g. https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123");
  } else {
    const parsed = parseIssuer(raw.COGNITO_ISSUER);
    if (!parsed) problems.push("COGNITO_ISSUER: must end with a user pool id such as eu-west-1_AbCdEf123");
    else if (!parsed.region && !raw.COGNITO_ENDPOINT && !failed.has("COGNITO_ENDPOINT")) {
      problems.push(
        "COGNITO_ISSUER, COGNITO_ENDPOINT: a user pool id without a region (an emulator's, such as local_AbC123) needs COGNITO_ENDPOINT, the emulator's API endpoint; on AWS the pool id starts with its region (eu-west-1_AbCdEf123)",
      );
    }
  }
  if (!raw.COGNITO_CLIENT_ID) problems.push("COGNITO_CLIENT_ID: is required");
  else if (!/^[\w+]+$/.test(raw.COGNITO_CLIENT_ID)) problems.push("COGNITO_CLIENT_ID: must contain only letters, digits, _ and +");
  if (production) {
    if (!raw.PUBLIC_URL && !failed.has("PUBLIC_URL")) problems.push("PUBLIC_URL: is required in production (the public https origin of this service)");
    for (const name of ["PUBLIC_URL", "COGNITO_ISSUER", "COGNITO_DOMAIN", "COGNITO_ENDPOINT"] as const) {
      const value = raw[name];
      if (value && new URL(value).protocol !== "https:") problems.push(`${name}: must use https in production`);
    }
    checkProduction(raw, failed, problems, warnings);
  }
  checkRedis(raw, failed, problems);
  if (raw.SESSION_STORE === "redis" && !raw.REDIS_URL && !failed.has("REDIS_URL")) {
    problems.push("SESSION_STORE, REDIS_URL: SESSION_STORE=redis keeps the sessions in Redis and needs REDIS_URL");
  }
  if (raw.PUBLIC_URL && new URL(raw.PUBLIC_URL).pathname !== "/") {
    problems.push("PUBLIC_URL: must be an origin without a path, such as https://bff.example.com");
  }
}

/**
 * Parses and validates the environment: each variable on its own, then the
 * checks that combine variables on those that parsed, then `UPSTREAMS`.
 * @throws {ConfigError} naming every bad or missing variable at once (never its value).
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { raw: parsed, failed } = parseEach(env, problems);
  checkCombinations(parsed, failed, problems, warnings);
  const allowedOrigins = parseOrigins(parsed.ALLOWED_ORIGINS, problems);
  const upstreams = parseUpstreams(parsed.UPSTREAMS, problems);
  const tracing = buildTracingConfig(parsed, problems, warnings);
  if (needsClientCredentials(upstreams) && (!parsed.COGNITO_CLIENT_SECRET || !parsed.COGNITO_DOMAIN) && !failed.has("COGNITO_DOMAIN")) {
    problems.push("COGNITO_CLIENT_SECRET, COGNITO_DOMAIN: both are required when an upstream in UPSTREAMS uses token client (client credentials)");
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  // Every variable parsed (a failure is a problem above), so `parsed` is complete.
  const raw = parsed as RawConfig;

  // Checked above; the non-null assertions only restate checkCombinations.
  const issuer = raw.COGNITO_ISSUER!.replace(/\/+$/, "");
  const { region: poolRegion, userPoolId } = parseIssuer(issuer)!;
  // The pool's own region wins over AWS_REGION (the deployment's region, which may differ).
  const region = poolRegion ?? raw.AWS_REGION ?? DEFAULT_EMULATOR_REGION;
  const clientSecret = raw.COGNITO_CLIENT_SECRET;
  const authSecrets = [raw.AUTH_SECRET_3, raw.AUTH_SECRET_2, raw.AUTH_SECRET_1, raw.AUTH_SECRET].filter(
    (s): s is string => s !== undefined,
  );
  const publicUrl = new URL(raw.PUBLIC_URL ?? `http://localhost:${raw.PORT}`);

  const cognito: CognitoConfig = Object.freeze({
    issuer,
    region,
    userPoolId,
    clientId: raw.COGNITO_CLIENT_ID!,
    clientSecret,
    domain: raw.COGNITO_DOMAIN?.replace(/\/+$/, ""),
    endpoint: raw.COGNITO_ENDPOINT?.replace(/\/+$/, ""),
    tokenAuthMethod: clientSecret ? raw.COGNITO_TOKEN_AUTH_METHOD : "none",
    refreshTokenRotation: raw.COGNITO_REFRESH_TOKEN_ROTATION,
    nonceCheck: raw.COGNITO_NONCE_CHECK,
    identityProviders: raw.COGNITO_IDENTITY_PROVIDERS,
    scopes: Object.freeze((raw.COGNITO_SCOPES ?? "openid email profile").split(/[\s,]+/).filter(Boolean)),
    timeoutMs: raw.COGNITO_TIMEOUT_MS,
    maxAttempts: raw.COGNITO_MAX_ATTEMPTS,
  });

  if (!raw.COGNITO_NONCE_CHECK) {
    warnings.push("COGNITO_NONCE_CHECK is false: ID tokens are accepted without a nonce (meant for emulators such as cognito-local; PKCE and state still protect the sign-in)");
  }

  return Object.freeze({
    nodeEnv: raw.NODE_ENV,
    port: raw.PORT,
    internal: raw.INTERNAL_PORT === undefined ? undefined : Object.freeze({ port: raw.INTERNAL_PORT, host: raw.INTERNAL_HOST }),
    http: Object.freeze({
      headersTimeoutMs: raw.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: Math.max(raw.HTTP_REQUEST_TIMEOUT_MS, raw.HTTP_HEADERS_TIMEOUT_MS),
      keepAliveTimeoutMs: raw.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    }),
    logLevel: raw.LOG_LEVEL,
    trustProxy: parseTrustProxy(raw.TRUST_PROXY),
    publicUrl,
    allowedOrigins: Object.freeze(allowedOrigins),
    authSecrets: Object.freeze(authSecrets),
    sessionMaxAgeSeconds: raw.SESSION_MAX_AGE_SECONDS,
    refreshSkewSeconds: raw.REFRESH_SKEW_SECONDS,
    includeIdToken: raw.TOKEN_INCLUDE_ID_TOKEN,
    redisUrl: raw.REDIS_URL,
    redisMode: raw.REDIS_MODE,
    redisSentinelMaster: raw.REDIS_SENTINEL_MASTER,
    sessionStore: raw.SESSION_STORE,
    redisKeyPrefix: raw.REDIS_KEY_PREFIX,
    refreshResultTtlSeconds: raw.REFRESH_RESULT_TTL_SECONDS,
    refreshMinIntervalSeconds: raw.REFRESH_MIN_INTERVAL_SECONDS,
    adminSecret: raw.ADMIN_SECRET,
    cognito,
    upstreams,
    tracing,
    warnings: Object.freeze(warnings),
  });
}
