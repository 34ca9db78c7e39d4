/**
 * The tracing settings, from the standard `OTEL_*` variables that config.ts
 * has parsed one by one: which combination turns tracing on, where spans go,
 * and the W3C-baggage-style lists (`key=value,...`, percent-encoded) of the
 * exporter's headers and the resource's attributes. Pure: config.ts reads the
 * environment, this only combines what it parsed.
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/
 * @see https://opentelemetry.io/docs/specs/otel/protocol/exporter/
 */

export const TRACES_SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

export const OTLP_PROTOCOLS = ["http/json", "http/protobuf"] as const;

export const DEFAULT_SERVICE_NAME = "cognito-bff";

export interface TracingConfig {
  /** The OTLP/HTTP traces URL (`…/v1/traces`). */
  readonly url: string;
  /** Headers of every export (`OTEL_EXPORTER_OTLP_HEADERS`, then `_TRACES_HEADERS`): may carry an API key, never logged. */
  readonly headers: Readonly<Record<string, string>>;
  /** Deadline of one export. */
  readonly timeoutMs: number;
  /** Delay between two batches (`OTEL_BSP_SCHEDULE_DELAY`). */
  readonly scheduledDelayMs: number;
  readonly serviceName: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  readonly sampler: TracesSampler;
  /** `OTEL_TRACES_SAMPLER_ARG` for the ratio samplers, in [0, 1]. */
  readonly samplerRatio: number;
}

/** The OTEL_* variables as config.ts parsed them (undefined: unset, or reported already). */
export interface RawTracingVariables {
  OTEL_SDK_DISABLED?: boolean | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_HEADERS?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_HEADERS?: string | undefined;
  OTEL_EXPORTER_OTLP_TIMEOUT?: number | undefined;
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT?: number | undefined;
  OTEL_EXPORTER_OTLP_PROTOCOL?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
  OTEL_RESOURCE_ATTRIBUTES?: string | undefined;
  OTEL_TRACES_SAMPLER?: TracesSampler | undefined;
  OTEL_TRACES_SAMPLER_ARG?: number | undefined;
  OTEL_BSP_SCHEDULE_DELAY?: number | undefined;
}

/** An HTTP field name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A field value: visible characters, spaces and tabs only (no CR/LF, no other controls). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\uffff]*$/;

/**
 * A `key1=value1,key2=value2` list, keys and values percent-decoded and
 * trimmed; undefined when malformed (an item without `=`, an empty key, a bad
 * percent-encoding). The caller names the variable, never the value.
 * @see https://opentelemetry.io/docs/specs/otel/protocol/exporter/#specifying-headers-via-environment-variables
 */
export function parseKeyValueList(value: string): Record<string, string> | undefined {
  const entries: Record<string, string> = {};
  for (const item of value.split(",")) {
    if (item.trim() === "") continue;
    const equals = item.indexOf("=");
    if (equals <= 0) return undefined;
    try {
      const key = decodeURIComponent(item.slice(0, equals).trim());
      const val = decodeURIComponent(item.slice(equals + 1).trim());
      if (key === "") return undefined;
      entries[key] = val;
    } catch {
      return undefined;
    }
  }
  return entries;
}

/** Headers for the exporter: valid field names and values only (a bad one would fail every export). */
function parseHeaders(name: string, value: string | undefined, problems: string[]): Record<string, string> {
  if (value === undefined) return {};
  const headers = parseKeyValueList(value);
  if (!headers || !Object.entries(headers).every(([key, val]) => HEADER_NAME.test(key) && HEADER_VALUE.test(val))) {
    // Never the value: it may be an API key.
    problems.push(`${name}: must be name=value pairs separated by commas (values percent-encoded), e.g. x-api-key=...`);
    return {};
  }
  return headers;
}

/**
 * The traces URL: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as it is, else
 * `OTEL_EXPORTER_OTLP_ENDPOINT` with `v1/traces` appended to its path.
 * @see https://opentelemetry.io/docs/specs/otel/protocol/exporter/#endpoint-urls-for-otlphttp
 */
export function tracesUrl(endpoint: string | undefined, tracesEndpoint: string | undefined): string | undefined {
  if (tracesEndpoint) return tracesEndpoint;
  if (!endpoint) return undefined;
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

/**
 * The tracing settings, or undefined when tracing is off: no endpoint, or
 * `OTEL_SDK_DISABLED=true`. Pushes one line per problem (naming the variable,
 * never a value) and warnings for settings that work differently than asked.
 */
export function buildTracingConfig(raw: RawTracingVariables, problems: string[], warnings: string[]): TracingConfig | undefined {
  const headers = {
    ...parseHeaders("OTEL_EXPORTER_OTLP_HEADERS", raw.OTEL_EXPORTER_OTLP_HEADERS, problems),
    ...parseHeaders("OTEL_EXPORTER_OTLP_TRACES_HEADERS", raw.OTEL_EXPORTER_OTLP_TRACES_HEADERS, problems),
  };
  let resourceAttributes: Record<string, string> = {};
  if (raw.OTEL_RESOURCE_ATTRIBUTES !== undefined) {
    const parsed = parseKeyValueList(raw.OTEL_RESOURCE_ATTRIBUTES);
    if (parsed) resourceAttributes = parsed;
    else problems.push("OTEL_RESOURCE_ATTRIBUTES: must be key=value pairs separated by commas (percent-encode , = and % in values), e.g. deployment.environment.name=prod");
  }
  const url = tracesUrl(raw.OTEL_EXPORTER_OTLP_ENDPOINT, raw.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (!url || raw.OTEL_SDK_DISABLED) return undefined;
  const protocol = raw.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? raw.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol === "http/protobuf") {
    warnings.push("OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf asked; spans are sent as OTLP/HTTP JSON, which OTLP/HTTP receivers (the OpenTelemetry Collector's included) accept too");
  }
  return Object.freeze({
    url,
    headers: Object.freeze(headers),
    timeoutMs: raw.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? raw.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    scheduledDelayMs: raw.OTEL_BSP_SCHEDULE_DELAY ?? 5000,
    // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES (the specification's order).
    serviceName: raw.OTEL_SERVICE_NAME ?? resourceAttributes["service.name"] ?? DEFAULT_SERVICE_NAME,
    resourceAttributes: Object.freeze(resourceAttributes),
    sampler: raw.OTEL_TRACES_SAMPLER ?? "parentbased_always_on",
    samplerRatio: raw.OTEL_TRACES_SAMPLER_ARG ?? 1,
  });
}
