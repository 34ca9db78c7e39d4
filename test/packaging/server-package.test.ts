/**
 * What `npm pack` of the service ships: the build, the contract the service
 * serves, README and LICENSE, and nothing of the repository around them; the
 * package's entry and its `cognito-bff` command work from the build.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { CLIENT_ID, CLIENT_SECRET, freePort, serverEnv } from "../helpers/harness.js";
import { npm, ROOT } from "../helpers/npm.js";

interface PackedFile {
  path: string;
  size: number;
}

interface PackageJson {
  main: string;
  types: string;
  exports: Record<string, { types: string; default: string } | string>;
  bin: Record<string, string>;
  files: string[];
  license: string;
}

let files: string[];
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as PackageJson;
const scratch = mkdtempSync(join(tmpdir(), "cognito-bff-server-package-"));

/** Runs `node <args>` in the repository with `env` only (plus PATH); resolves with the exit code and output. */
function runNode(args: string[], env: Record<string, string>, until?: (output: string) => boolean) {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? "", ...env } });
  let output = "";
  const seen = new Promise<void>((resolve) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (until?.(output)) resolve();
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, seen, exited, output: () => output };
}

beforeAll(async () => {
  await npm(["run", "build:server"], ROOT);
  // Scripts were just run by hand; the dry run lists what `npm pack` (whose prepack builds) would put in the tarball.
  const { stdout } = await npm(["pack", "--dry-run", "--json", "--ignore-scripts"], ROOT);
  files = (JSON.parse(stdout) as [{ files: PackedFile[] }])[0].files.map((f) => f.path);
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("the cognito-bff package", () => {
  it("ships nothing of the repository but the build: no src, tests, benchmarks, demo, docs or client package", () => {
    const foreign = files.filter((f) => /^(src|test|bench|demo|docs|packages|test-results|node_modules|\.ci)\//.test(f) || f.includes("screenshots"));
    expect(foreign).toEqual([]);
    expect(files.filter((f) => !f.startsWith("dist/")).sort()).toEqual(["LICENSE", "README.md", "openapi.yaml", "package.json"].sort());
  });

  it("ships the server, the embedding entry with its types, the command, the contract, README and LICENSE", () => {
    for (const file of ["dist/server.js", "dist/embed.js", "dist/embed.d.ts", "dist/cli.js", "openapi.yaml", "LICENSE", "README.md", "package.json"]) {
      expect(files, file).toContain(file);
    }
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License\n\nCopyright \(c\) 2026 cognito-bff developers\n/);
    expect(pkg.license).toBe("MIT");
  });

  it("main, types, exports and bin name files that are in the tarball", () => {
    const entry = pkg.exports["."] as { types: string; default: string };
    const named = [pkg.main, pkg.types, entry.types, entry.default, ...Object.values(pkg.bin)].map((p) => p.replace(/^\.\//, ""));
    for (const file of named) expect(files, file).toContain(file);
    expect(entry.default).toBe("./dist/embed.js");
    expect(pkg.exports["./client"]).toBeUndefined();
  });

  it('import "cognito-bff" gives createBff and ConfigError (through the exports map, from the build)', async () => {
    const run = runNode(
      ["--input-type=module", "--eval", 'const m = await import("cognito-bff"); console.log(JSON.stringify(Object.keys(m).sort()))'],
      {},
    );
    expect(await run.exited, run.output()).toBe(0);
    expect(JSON.parse(run.output())).toEqual(["ConfigError", "createBff"]);
  });
});

describe("the cognito-bff command", () => {
  let emu: Emulator | undefined;
  afterAll(() => emu?.close());

  /** The command as npm installs it: a symlink in node_modules/.bin to the package's bin file. */
  function linkCommand(): string {
    const link = join(scratch, "cognito-bff");
    rmSync(link, { force: true });
    symlinkSync(join(ROOT, pkg.bin["cognito-bff"]!), link);
    return link;
  }

  it("without configuration, exits 1 naming the missing variables", async () => {
    const run = runNode([linkCommand()], {});
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/^cognito-bff: Invalid configuration:\n/);
    for (const name of ["AUTH_SECRET", "COGNITO_ISSUER", "COGNITO_CLIENT_ID"]) expect(run.output()).toContain(`- ${name}: is required`);
  });

  it("starts the service from the environment and stops with exit 0 on SIGTERM", async () => {
    emu = await startEmulator({});
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    emu.addClient({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${url}/auth/callback/cognito`], logoutUris: [`${url}/`] });
    const run = runNode([linkCommand()], serverEnv(emu, url), (output) => output.includes('"msg":"listening"'));
    await Promise.race([run.seen, run.exited]);
    expect(run.child.exitCode, run.output()).toBeNull();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    run.child.kill("SIGTERM");
    expect(await run.exited, run.output()).toBe(0);
  });
});
