/**
 * @cognito-bff/client as an SPA gets it: `npm pack` (whose prepack builds it),
 * the tarball installed into a scratch project, consumers type-checked with
 * `moduleResolution` bundler and nodenext (ESM, and CommonJS through
 * `require`), both entries loaded by Node, and a browser bundle made by esbuild.
 * The package is packed from a copy of packages/client, so the tree's dist/
 * (which the e2e test builds at the same time) is never touched.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLIENT_DIR, npm, ROOT } from "../helpers/npm.js";

const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
const MAX_BUNDLE_BYTES = 10_240;

interface PackResult {
  filename: string;
  size: number;
  entryCount: number;
  files: { path: string }[];
}

interface PackedPackageJson {
  name: string;
  type: string;
  sideEffects: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  exports: { ".": Record<string, string | Record<string, string>> };
}

const work = mkdtempSync(join(tmpdir(), "cognito-bff-client-package-"));
const consumer = join(work, "consumer");
let packed: PackResult;
let installed: PackedPackageJson;

/** Runs `node <args>` in `cwd`; resolves with stdout, rejects with the output when it fails. */
function node(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`node ${args.join(" ")} failed:\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Type-checks the consumer project `tsconfig` with the repository's TypeScript; resolves with the files it read. */
async function typecheck(tsconfig: string): Promise<string[]> {
  const out = await node([TSC, "-p", tsconfig, "--listFiles"], consumer);
  return out.split("\n").filter(Boolean).map((file) => relative(consumer, file).split(sep).join("/"));
}

function write(file: string, text: string): void {
  mkdirSync(join(consumer, file, ".."), { recursive: true });
  writeFileSync(join(consumer, file), text);
}

beforeAll(async () => {
  // The package as committed: its sources and build files, none of its build output.
  const copy = join(work, "client");
  cpSync(CLIENT_DIR, copy, { recursive: true, filter: (src) => !/[\\/](dist|node_modules)$/.test(src) });
  // prepack runs the package's build with the repository's TypeScript (from PATH, as in the workspace).
  const path = `${join(ROOT, "node_modules/.bin")}${process.platform === "win32" ? ";" : ":"}${process.env.PATH ?? ""}`;
  const { stdout } = await npm(["pack", "--json", "--pack-destination", work], copy, { PATH: path });
  // The JSON follows the output of the build that prepack ran.
  packed = (JSON.parse(stdout.slice(stdout.search(/^\[/m))) as PackResult[])[0]!;

  write("package.json", JSON.stringify({ name: "spa", private: true, type: "module" }));
  await npm(["install", "--no-save", "--ignore-scripts", "--offline", "--no-package-lock", join(work, packed.filename)], consumer);
  installed = JSON.parse(readFileSync(join(consumer, "node_modules/@cognito-bff/client/package.json"), "utf8")) as PackedPackageJson;
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("the @cognito-bff/client tarball", () => {
  it("holds the built package only: dist (ESM, CommonJS, types), README, LICENSE and package.json; no sources or tests", () => {
    const files = packed.files.map((f) => f.path).sort();
    expect(files.filter((f) => /(^|\/)(src|test|tests)\/|\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((f) => !f.startsWith("dist/"))).toEqual(["LICENSE", "README.md", "package.json"]);
    for (const file of ["dist/esm/index.js", "dist/esm/index.d.ts", "dist/cjs/index.js", "dist/cjs/index.d.ts", "dist/cjs/package.json"]) {
      expect(files, file).toContain(file);
    }
    expect(readFileSync(join(consumer, "node_modules/@cognito-bff/client/LICENSE"), "utf8")).toContain("MIT License");
  });

  it("has no dependencies, no side effects, and every export target it names for consumers in the tarball", () => {
    expect(installed.name).toBe("@cognito-bff/client");
    expect(installed.dependencies).toBeUndefined();
    expect(installed.peerDependencies).toBeUndefined();
    expect(installed.sideEffects).toBe(false);
    const { import: esm, require: cjs } = installed.exports["."] as Record<string, Record<string, string>>;
    const files = packed.files.map((f) => f.path);
    for (const target of [esm!.types!, esm!.default!, cjs!.types!, cjs!.default!]) expect(files).toContain(target.replace(/^\.\//, ""));
  });
});

describe("an SPA that installed it", () => {
  const consumerCode = `
import { createBffClient, isSignInRequired, type AccessToken, type BffClient } from "@cognito-bff/client";
const bff: BffClient = createBffClient({ baseUrl: "https://bff.example.com", minTtl: 60 });
export async function token(): Promise<string | undefined> {
  try {
    return await bff.getAccessToken();
  } catch (error) {
    if (isSignInRequired(error)) await bff.signIn();
    return undefined;
  }
}
export const peek: AccessToken | undefined = bff.peekToken();
// @ts-expect-error baseUrl is required: the types are the package's, not any
createBffClient({});
`;
  const compilerOptions = { strict: true, noEmit: true, skipLibCheck: false, target: "ES2022", lib: ["ES2022", "DOM"], types: [] };

  it("type-checks with moduleResolution bundler, reading the ESM types", async () => {
    write("bundler/app.ts", consumerCode);
    write("tsconfig.bundler.json", JSON.stringify({ compilerOptions: { ...compilerOptions, module: "ESNext", moduleResolution: "bundler" }, files: ["bundler/app.ts"] }));
    const read = await typecheck("tsconfig.bundler.json");
    expect(read).toContain("node_modules/@cognito-bff/client/dist/esm/index.d.ts");
    expect(read.filter((f) => f.includes("/dist/cjs/"))).toEqual([]);
  });

  it("type-checks with module nodenext as ESM (import) and as CommonJS (a .cts using require), each reading its own types", async () => {
    write("nodenext/app.ts", consumerCode);
    write(
      "nodenext/app.cts",
      `
import bffClient = require("@cognito-bff/client");
const bff: bffClient.BffClient = bffClient.createBffClient({ baseUrl: "https://bff.example.com" });
export const signedOut: boolean = bffClient.isSignInRequired(new bffClient.UnauthenticatedError());
export const left: number = bff.secondsLeft();
// @ts-expect-error baseUrl is required: the types are the package's, not any
bffClient.createBffClient({});
`,
    );
    write("tsconfig.nodenext.json", JSON.stringify({ compilerOptions: { ...compilerOptions, module: "NodeNext", moduleResolution: "NodeNext" }, files: ["nodenext/app.ts", "nodenext/app.cts"] }));
    const read = await typecheck("tsconfig.nodenext.json");
    expect(read).toContain("node_modules/@cognito-bff/client/dist/esm/index.d.ts");
    expect(read).toContain("node_modules/@cognito-bff/client/dist/cjs/index.d.ts");
  });

  it("loads in Node through import and through require, with the same exports", async () => {
    const esm = await node(["--input-type=module", "--eval", 'console.log(JSON.stringify(Object.keys(await import("@cognito-bff/client")).sort()))'], consumer);
    const cjs = await node(["--input-type=commonjs", "--eval", 'console.log(JSON.stringify(Object.keys(require("@cognito-bff/client")).filter((k) => k !== "__esModule").sort()))'], consumer);
    expect(JSON.parse(cjs)).toEqual(JSON.parse(esm));
    expect(JSON.parse(esm)).toEqual(expect.arrayContaining(["createBffClient", "isSignInRequired", "SessionExpiredError", "createTabSync"]));
  });

  it(`bundles for the browser with esbuild: no Node APIs, under ${MAX_BUNDLE_BYTES} bytes minified for the whole API`, async () => {
    write("browser/all.js", 'export * from "@cognito-bff/client";\n');
    const result = await build({
      absWorkingDir: consumer,
      entryPoints: ["browser/all.js"],
      bundle: true,
      platform: "browser",
      format: "esm",
      minify: true,
      write: false,
      metafile: true,
      logLevel: "silent",
    });
    const bundle = result.outputFiles[0]!.text;
    expect(Object.keys(result.metafile.inputs).filter((f) => f !== "browser/all.js").every((f) => f.startsWith("node_modules/@cognito-bff/client/dist/esm/"))).toBe(true);
    expect(bundle).not.toMatch(/["']node:/);
    expect(bundle).not.toMatch(/\bprocess\b/);
    expect(bundle).not.toMatch(/\bBuffer\b/);
    expect(bundle).not.toMatch(/\brequire\s*\(/);
    expect(bundle).toContain("/token");
    expect(Buffer.byteLength(bundle)).toBeLessThan(MAX_BUNDLE_BYTES);
  });

  it("leaves out what an SPA does not import (ESM, sideEffects: false)", async () => {
    write("browser/one.js", 'import { isSignInRequired } from "@cognito-bff/client";\nconsole.log(isSignInRequired);\n');
    const result = await build({ absWorkingDir: consumer, entryPoints: ["browser/one.js"], bundle: true, platform: "browser", format: "esm", minify: true, write: false, logLevel: "silent" });
    const bundle = result.outputFiles[0]!.text;
    expect(bundle).not.toContain("BroadcastChannel");
    expect(bundle).not.toContain("/token");
  });
});
