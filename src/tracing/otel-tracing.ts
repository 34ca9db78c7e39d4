/**
 * The OpenTelemetry implementation of {@link Tracing}, imported only when
 * tracing is on: a tracer provider with a batching OTLP/HTTP (JSON) exporter,
 * W3C Trace Context propagation, and the configured sampler.
 *
 * The provider, context manager and propagator are the BFF's own and are not
 * registered as OpenTelemetry's globals: a host app that embeds the BFF keeps
 * its own OpenTelemetry setup, and the BFF's spans never mix into it.
 * @see https://www.w3.org/TR/trace-context/
 * @see https://opentelemetry.io/docs/specs/otel/protocol/exporter/
 */
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from "@opentelemetry/sdk-trace";
import type { TracingConfig } from "./tracing-config.js";
import type { Logger } from "../log.js";
import { setActiveInjector, type SpanAttributes, type SpanKindName, type TraceSpan, type Tracing } from "../tracing.js";
import { LoggedExporter } from "./logged-exporter.js";

/** The longest a shutdown waits for the last spans to be exported (capped further by the export timeout). */
export const MAX_SHUTDOWN_FLUSH_MS = 5000;

const KINDS: Record<SpanKindName, SpanKind> = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL };

/** One context manager for every BFF in the process: it only carries each request's own context. */
const contextManager = new AsyncLocalStorageContextManager();
const propagator = new W3CTraceContextPropagator();

/** Writes the active span's context into `headers`; false when no span is active. */
function injectActive(headers: Record<string, string | string[]>): boolean {
  const active = contextManager.active();
  if (!trace.getSpan(active)) return false;
  propagator.inject(active, headers, defaultTextMapSetter);
  return true;
}

/**
 * The sampler named by `OTEL_TRACES_SAMPLER` (and `_ARG`).
 * @see https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#general-sdk-configuration
 */
export function createSampler(config: Pick<TracingConfig, "sampler" | "samplerRatio">): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio;
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio });
  }
}

class OtelSpan implements TraceSpan {
  readonly traceId: string;
  readonly span: Span;
  /** The context in which this span is the active one. */
  readonly context: Context;

  constructor(span: Span, parent: Context) {
    this.span = span;
    this.context = trace.setSpan(parent, span);
    this.traceId = span.spanContext().traceId;
  }

  setAttributes(attributes: SpanAttributes): void {
    this.span.setAttributes(attributes);
  }

  updateName(name: string): void {
    this.span.updateName(name);
  }

  fail(errorType: string): void {
    this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.span.setAttribute("error.type", errorType);
  }

  inject(headers: Record<string, string | string[]>): void {
    delete headers.traceparent;
    delete headers.tracestate;
    propagator.inject(this.context, headers, defaultTextMapSetter);
  }

  end(): void {
    this.span.end();
  }
}

export function createOtelTracing(config: TracingConfig, log: Logger): Tracing {
  const exporter = new OTLPTraceExporter({ url: config.url, headers: { ...config.headers }, timeoutMillis: config.timeoutMs });
  const processor = new BatchSpanProcessor({
    exporter: new LoggedExporter(exporter, log),
    scheduledDelayMillis: config.scheduledDelayMs,
    exportTimeoutMillis: config.timeoutMs,
  });
  const provider = new TracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ ...config.resourceAttributes, "service.name": config.serviceName })),
    sampler: createSampler(config),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer("cognito-bff");
  setActiveInjector(injectActive);
  // Never the headers, nor the URL's user info or query: any of them may carry the collector's API key.
  const shown = new URL(config.url);
  log.info({ url: `${shown.origin}${shown.pathname}`, sampler: config.sampler, serviceName: config.serviceName }, "tracing on: spans exported over OTLP/HTTP");

  const flushMs = Math.min(config.timeoutMs, MAX_SHUTDOWN_FLUSH_MS);
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    startServerSpan(name, headers, attributes) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
      return new OtelSpan(tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent), parent);
    },
    startSpan(name, kind, attributes) {
      const parent = contextManager.active();
      return new OtelSpan(tracer.startSpan(name, { kind: KINDS[kind], attributes }, parent), parent);
    },
    withSpan(span, fn) {
      return contextManager.with((span as OtelSpan).context, fn);
    },
    shutdown() {
      // A collector that does not answer must not hold the process: the last export gets a deadline.
      stopping ??= new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          log.warn({ deadlineMs: flushMs }, "tracing: the last spans were not exported before the shutdown deadline");
          resolve();
        }, flushMs);
        deadline.unref();
        provider.shutdown().then(
          () => {
            clearTimeout(deadline);
            resolve();
          },
          () => {
            clearTimeout(deadline);
            resolve();
          },
        );
      });
      return stopping;
    },
  };
}
