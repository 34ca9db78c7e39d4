/**
 * A span exporter that reports failed exports in the service's log, at most
 * once per interval, with the number of spans lost since the last line.
 *
 * The SDK itself only reports through OpenTelemetry's `diag` logger (silent
 * unless set) and would, once set, report every failed batch. The line holds
 * the error's class and code (`ECONNREFUSED`, an HTTP status), never its
 * message or data (a collector's answer) and never the exporter's headers,
 * which may carry an API key.
 */
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import type { Logger } from "../log.js";

/** At most one "export failed" line per this many milliseconds. */
export const EXPORT_FAILURE_LOG_INTERVAL_MS = 60_000;

function describeFailure(error: unknown): { name: string; code?: string | number } {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  const described: { name: string; code?: string | number } = { name: typeof name === "string" ? name.slice(0, 64) : "Error" };
  if (typeof code === "number" || (typeof code === "string" && /^[\w.-]{1,64}$/.test(code))) described.code = code;
  return described;
}

export class LoggedExporter implements SpanExporter {
  readonly #inner: SpanExporter;
  readonly #log: Logger;
  readonly #intervalMs: number;
  /** When the last failure line was written (performance.now()), or undefined when the exporter is working. */
  #lastLogged: number | undefined;
  #lostSinceLine = 0;
  #failedExportsSinceLine = 0;

  constructor(inner: SpanExporter, log: Logger, intervalMs = EXPORT_FAILURE_LOG_INTERVAL_MS) {
    this.#inner = inner;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.#inner.export(spans, (result) => {
      if (result.code === ExportResultCode.SUCCESS) this.#succeeded();
      else this.#failed(result.error, spans.length);
      resultCallback(result);
    });
  }

  #succeeded(): void {
    if (this.#lastLogged === undefined) return;
    this.#log.info({ lostSpans: this.#lostSinceLine }, "trace export working again");
    this.#lastLogged = undefined;
    this.#lostSinceLine = 0;
    this.#failedExportsSinceLine = 0;
  }

  #failed(error: unknown, spans: number): void {
    this.#lostSinceLine += spans;
    this.#failedExportsSinceLine += 1;
    const now = performance.now();
    if (this.#lastLogged !== undefined && now - this.#lastLogged < this.#intervalMs) return;
    this.#log.warn(
      { error: describeFailure(error), lostSpans: this.#lostSinceLine, failedExports: this.#failedExportsSinceLine },
      "trace export failed; spans dropped (requests are not affected)",
    );
    this.#lastLogged = now;
    this.#lostSinceLine = 0;
    this.#failedExportsSinceLine = 0;
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush?.() ?? Promise.resolve();
  }
}
