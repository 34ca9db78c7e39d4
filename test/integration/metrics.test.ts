/**
 * /metrics of the real process wiring (startServer), scraped after real
 * traffic and parsed strictly as Prometheus text format 0.0.4.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { startServer, type RunningServer } from "../../src/server.js";
import { callToken, CLIENT_ID, CLIENT_SECRET, freePort, serverEnv, signIn, USER } from "../helpers/harness.js";
import { startUpstream, type Upstream } from "../helpers/upstream.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help: string;
  samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

/** A strict parser: every line must be HELP, TYPE or a sample of a declared family; throws on anything else. */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (name: string) =>
    families.get(name) ?? families.get(name.replace(/_(bucket|sum|count|total|created)$/, "")) ?? families.get(name.replace(/_(bucket|sum|count)$/, ""));
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const family = families.get(meta[2]!) ?? { type: "", help: "", samples: [] };
      if (meta[1] === "TYPE") family.type = meta[3]!;
      else family.help = meta[3]!;
      families.set(meta[2]!, family);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not a Prometheus text line: ${line}`);
    const labels: Record<string, string> = {};
    if (sample[2]) {
      LABEL.lastIndex = 0;
      let consumed = 0;
      for (let m = LABEL.exec(sample[2]); m; m = LABEL.exec(sample[2])) {
        labels[m[1]!] = m[2]!;
        consumed = LABEL.lastIndex;
      }
      if (consumed !== sample[2].length) throw new Error(`bad labels: ${line}`);
    }
    const value = Number(sample[3] === "+Inf" ? Infinity : sample[3]);
    if (Number.isNaN(value)) throw new Error(`bad value: ${line}`);
    const family = familyOf(sample[1]!);
    if (!family?.type) throw new Error(`sample of an undeclared family: ${line}`);
    family.samples.push({ name: sample[1]!, labels, value });
  }
  return families;
}

let emu: Emulator;
let running: RunningServer;
let upstream: Upstream;

beforeAll(async () => {
  emu = await startEmulator({ users: [{ ...USER, emailVerified: true }] });
  // /fail answers 503, /hang never answers, anything else 200.
  upstream = await startUpstream((req, res) => {
    if (req.url?.startsWith("/hang")) return;
    res.statusCode = req.url?.startsWith("/fail") ? 503 : 200;
    res.end("{}");
  });
  const closedPort = await freePort();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [] });
  running = await startServer(
    {
      ...serverEnv(emu, url),
      LOG_LEVEL: "silent",
      COGNITO_MAX_ATTEMPTS: "1",
      // The server runs on the real clock: a short-lived stored result lets the test force a second refresh soon.
      REFRESH_RESULT_TTL_SECONDS: "1",
      // And forced refreshes of a young token go to Cognito.
      REFRESH_MIN_INTERVAL_SECONDS: "0",
      UPSTREAMS: JSON.stringify({
        orders: { url: upstream.url, token: "user", timeoutMs: 300 },
        gone: { url: `http://127.0.0.1:${closedPort}`, token: "user" },
      }),
    },
    { host: "127.0.0.1" },
  );
});
afterAll(async () => {
  await running?.close();
  await upstream?.close();
  await emu?.close();
});

function sum(family: Family | undefined, name: string, labels: Record<string, string>): number {
  return (family?.samples ?? [])
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

describe("GET /metrics", () => {
  it("exposes request durations by route, refreshes by outcome, Cognito latency and errors, and process metrics", async () => {
    const url = running.address;
    const jar = await signIn(url);
    for (let i = 0; i < 3; i++) expect((await callToken(jar, url)).status).toBe(200);
    expect((await callToken(jar, url, "/token/refresh", { method: "POST" })).status).toBe(200);
    emu.fault("InitiateAuth", { error: { code: "TooManyRequestsException", message: "Rate exceeded" }, times: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await callToken(jar, url, "/token/refresh", { method: "POST" })).status).toBe(503);
    expect((await fetch(`${url}/no/such/path/4711`)).status).toBe(404);

    const response = await fetch(`${url}/metrics`);
    expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheusText(await response.text());

    const http = families.get("bff_http_request_duration_seconds");
    expect(http?.type).toBe("histogram");
    expect(sum(http, "bff_http_request_duration_seconds_count", { route: "/token", method: "GET", status: "200" })).toBe(3);
    expect(sum(http, "bff_http_request_duration_seconds_count", { route: "/token/refresh", method: "POST", status: "503" })).toBe(1);
    expect(sum(http, "bff_http_request_duration_seconds_count", { route: "unmatched", status: "404" })).toBe(1);
    // Labels are route patterns, never raw paths.
    expect(http!.samples.some((s) => s.labels.route?.includes("4711"))).toBe(false);

    const refreshes = families.get("bff_refreshes_total");
    expect(refreshes?.type).toBe("counter");
    expect(sum(refreshes, "bff_refreshes_total", { outcome: "ok" })).toBe(1);
    expect(sum(refreshes, "bff_refreshes_total", { outcome: "temporarily_unavailable" })).toBe(1);

    const cognito = families.get("bff_cognito_call_duration_seconds");
    expect(sum(cognito, "bff_cognito_call_duration_seconds_count", { operation: "InitiateAuth", outcome: "ok" })).toBe(1);
    const errors = families.get("bff_cognito_errors_total");
    expect(sum(errors, "bff_cognito_errors_total", { operation: "InitiateAuth", code: "TooManyRequestsException" })).toBe(1);

    for (const name of ["bff_refresh_coalesced_total", "bff_dependency_up"]) {
      expect(families.get(name)?.type, name).toBeTruthy();
    }
    expect(families.get("process_cpu_user_seconds_total")?.type).toBe("counter");
    expect(families.get("nodejs_heap_size_total_bytes")?.type).toBe("gauge");
  });

  it("counts relayed calls by upstream and answer class, and times them", async () => {
    const url = running.address;
    const jar = await signIn(url);
    const relayed = async (path: string) => (await callToken(jar, url, path)).status;
    expect([await relayed("/api/orders/a"), await relayed("/api/orders/b"), await relayed("/api/orders/fail")]).toEqual([200, 200, 503]);
    expect(await relayed("/api/orders/hang")).toBe(504);
    expect(await relayed("/api/gone/x")).toBe(502);

    const families = parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
    const requests = families.get("bff_upstream_requests_total");
    expect(requests?.type).toBe("counter");
    const count = (labels: Record<string, string>) => sum(requests, "bff_upstream_requests_total", labels);
    expect(count({ upstream: "orders", status_class: "2xx" })).toBe(2);
    expect(count({ upstream: "orders", status_class: "5xx" })).toBe(1);
    expect(count({ upstream: "orders", status_class: "timeout" })).toBe(1);
    expect(count({ upstream: "gone", status_class: "error" })).toBe(1);

    const duration = families.get("bff_upstream_duration_seconds");
    expect(duration?.type).toBe("histogram");
    expect(sum(duration, "bff_upstream_duration_seconds_count", { upstream: "orders" })).toBe(4);
    // The hanging call waited its 300 ms timeout: the sum holds at least that.
    expect(sum(duration, "bff_upstream_duration_seconds_sum", { upstream: "orders" })).toBeGreaterThanOrEqual(0.3);
  });

  it("the parser rejects what is not Prometheus text", () => {
    expect(() => parsePrometheusText("# TYPE a counter\na{x=1} 2\n")).toThrow("bad labels");
    expect(() => parsePrometheusText("b 1\n")).toThrow("undeclared family");
  });
});
