/**
 * No Docker engine runs here, so the container files are checked against the
 * code: what compose sets must be configuration the service reads, ports and
 * health paths must be the ones the app serves, and the image's start command
 * must exist after the build.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_VARIABLES, loadConfig } from "../../src/config.js";
import { EXIT_FLUSH_MS } from "../../src/log-destination.js";
import { SHUTDOWN_DEADLINE_MS } from "../../src/server.js";
import { MAX_SHUTDOWN_FLUSH_MS } from "../../src/tracing/otel-tracing.js";

const root = new URL("../../", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), "utf8");
const compose = parse(read("docker-compose.yml")) as {
  services: Record<string, { environment?: Record<string, string>; expose?: string[]; ports?: string[]; command?: string[]; deploy?: { replicas?: number }; stop_grace_period?: string }>;
  configs?: Record<string, { content?: string }>;
};
const dockerfile = read("Dockerfile");
const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string> };
const buildOutDir = (JSON.parse(read("tsconfig.build.json")) as { compilerOptions: { outDir: string; rootDir: string } }).compilerOptions;
const openapi = parse(read("openapi.yaml")) as { paths: Record<string, unknown> };

/** `KEY=value` and `${VAR:?msg}` as compose would leave them for a check: a placeholder value. */
function bffEnvironment(): Record<string, string> {
  const env = compose.services.bff!.environment!;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).startsWith("${") ? "x".repeat(44) : String(v)]));
}

/** The source file a `dist/…js` path is compiled from. */
function sourceOf(distPath: string): string {
  return distPath.replace(new RegExp(`^${buildOutDir.outDir}/`), `${buildOutDir.rootDir}/`).replace(/\.js$/, ".ts");
}

describe("docker-compose.yml", () => {
  it("sets only variables that the config schema reads, and a valid configuration", () => {
    const env = bffEnvironment();
    const unknown = Object.keys(env).filter((name) => !CONFIG_VARIABLES.includes(name));
    expect(unknown).toEqual([]);
    const config = loadConfig(env);
    expect(config.redisUrl).toBe("redis://redis:6379");
    expect(config.trustProxy).toBe(1);
  });

  it("gives the bff longer to stop than its drain, the last trace export and the log flush take together", () => {
    const grace = /^(\d+)s$/.exec(compose.services.bff!.stop_grace_period ?? "");
    expect(grace).not.toBeNull();
    expect(Number(grace![1]) * 1000).toBeGreaterThan(SHUTDOWN_DEADLINE_MS + MAX_SHUTDOWN_FLUSH_MS + EXIT_FLUSH_MS);
    expect(readme.replace(/\s+/g, " ")).toContain(`Give the container at least ${grace![1]} s`);
  });

  it("runs several bff replicas with Redis coordination, on the port the service listens on", () => {
    const bff = compose.services.bff!;
    expect(bff.deploy?.replicas).toBeGreaterThan(1);
    expect(bff.environment!.REDIS_URL).toMatch(/^redis:\/\/redis:/);
    const port = String(loadConfig(bffEnvironment()).port);
    expect(bff.expose).toContain(port);
    expect(compose.configs?.caddyfile?.content).toContain(`port ${port}`);
    expect(compose.services.redis).toBeDefined();
  });

  it("runs Redis with an append-only file on a named volume, so revocations survive a restart", () => {
    const redis = compose.services.redis! as typeof compose.services.redis & { volumes?: string[] };
    const args = redis.command!;
    expect(args[args.indexOf("--appendonly") + 1]).toBe("yes");
    const dir = args[args.indexOf("--dir") + 1];
    const volume = redis.volumes?.find((v) => v.endsWith(`:${dir}`))?.split(":")[0];
    expect(volume).toBeDefined();
    expect(Object.keys((compose as { volumes?: Record<string, unknown> }).volumes ?? {})).toContain(volume);
  });

  it("starts the emulator from a file the build produces, on the issuer the bff uses", () => {
    const emulator = compose.services.emulator!;
    const [node, script] = emulator.command!;
    expect(node).toBe("node");
    expect(existsSync(new URL(sourceOf(script!), root))).toBe(true);
    const issuer = new URL(compose.services.bff!.environment!.COGNITO_ISSUER!);
    expect(issuer.hostname).toBe(emulator.environment!.EMULATOR_HOST);
    expect(issuer.port).toBe(emulator.environment!.EMULATOR_PORT);
    expect(emulator.environment!.EMULATOR_REDIRECT_ORIGIN).toBe(compose.services.bff!.environment!.PUBLIC_URL);
    expect(emulator.ports).toContain(`${issuer.port}:${issuer.port}`);
  });
});

/** `two` -> 2, as the README writes small counts. */
const COUNT_WORDS = ["zero", "one", "two", "three", "four", "five", "six"];
const readme = read("README.md");
/** The shell lines that start compose, in the README and in the compose file's own header. */
const composeUpLines = [...readme.split("\n"), ...read("docker-compose.yml").split("\n")].filter((line) => /docker compose up/.test(line));

// Issue 18: the README said two replicas next to a command that scaled to three, and one build stage (there were three).
describe("what the README says about the container files", () => {
  it("names the replica count compose runs, and no compose command shown scales to another", () => {
    const said = /`docker-compose\.yml` runs (\w+) `bff` replicas/.exec(readme)?.[1];
    expect(said).toBeDefined();
    expect(COUNT_WORDS.indexOf(said!)).toBe(compose.services.bff!.deploy!.replicas);
    expect(composeUpLines.length).toBeGreaterThanOrEqual(2);
    for (const line of composeUpLines) {
      const scale = /--scale bff=(\d+)/.exec(line)?.[1];
      if (scale !== undefined) expect(Number(scale), line).toBe(compose.services.bff!.deploy!.replicas);
    }
  });

  it("names the number of stages the Dockerfile has", () => {
    const said = /The `Dockerfile` builds in (\w+) stages?/.exec(readme)?.[1];
    expect(said).toBeDefined();
    expect(COUNT_WORDS.indexOf(said!)).toBe(dockerfile.match(/^FROM /gm)!.length);
  });
});

describe("Dockerfile", () => {
  it("is multi-stage, installs production dependencies only in the final image, and runs as a non-root user", () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/NODE_ENV=production/);
    expect(dockerfile).toMatch(/COPY .*openapi\.yaml/);
  });

  it("starts a file the build produces, the same one `npm start` runs", () => {
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(cmd[0]).toBe("node");
    expect(pkg.scripts.start).toBe(cmd.join(" "));
    expect(cmd[1]!.startsWith(`${buildOutDir.outDir}/`)).toBe(true);
    expect(existsSync(new URL(sourceOf(cmd[1]!), root))).toBe(true);
  });

  it("health-checks a path the service serves, on its port", () => {
    const healthcheck = /^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m.exec(dockerfile)![1]!;
    const path = /127\.0\.0\.1:'\+\(process\.env\.PORT\|\|(\d+)\)\+'(\/\w+)'/.exec(healthcheck);
    expect(path).not.toBeNull();
    expect(path![1]).toBe(String(loadConfig(bffEnvironment()).port));
    expect(/^ENV [\s\S]*?PORT=(\d+)/m.exec(dockerfile)![1]).toBe(path![1]);
    expect(openapi.paths[path![2]!]).toBeDefined();
    expect(read("src/routes/health.ts")).toContain(`app.get("${path![2]}"`);
  });
});
