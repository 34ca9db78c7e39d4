/**
 * Which Node.js the project supports is said in four places that must agree: package.json's engines
 * (the oldest release allowed), the Dockerfile's base image (what production runs), @types/node (the
 * APIs the type-check lets the code use) and .ci/run (the Node lines CI builds and tests on).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), "utf8");
const pkg = JSON.parse(read("package.json")) as { engines: { node: string }; devDependencies: Record<string, string> };
const dockerfile = read("Dockerfile");
const ci = read(".ci/run");

/** `>=22.12` as [22, 12]: the one form of range the project's engines use. */
function engineMinimum(): [number, number] {
  const match = /^>=(\d+)\.(\d+)(?:\.\d+)?$/.exec(pkg.engines.node);
  expect(match, `engines.node is "${pkg.engines.node}"`).not.toBeNull();
  return [Number(match![1]), Number(match![2])];
}

/** The exact Node versions .ci/run installs, as `NODE_<major>=<x.y.z>` lines. */
function ciNodeVersions(): { major: number; version: string }[] {
  return [...ci.matchAll(/^NODE_(\d+)=(\d+\.\d+\.\d+)$/gm)].map((m) => ({ major: Number(m[1]), version: m[2]! }));
}

describe("supported Node.js", () => {
  it("package.json's engines start at a Node line that is still supported (22.12 or later)", () => {
    const [major, minor] = engineMinimum();
    expect(major * 1000 + minor).toBeGreaterThanOrEqual(22 * 1000 + 12);
  });

  it("every stage of the Dockerfile runs the oldest Node line that the engines allow", () => {
    const images = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(new RegExp(`^node:${engineMinimum()[0]}(?:[-.]|$)`));
  });

  it("@types/node is of that same line, so the type-check allows no newer API", () => {
    expect(pkg.devDependencies["@types/node"]).toMatch(new RegExp(`^\\^${engineMinimum()[0]}\\.`));
  });

  it(".ci/run installs that line and a newer LTS line in exact versions, and runs the test suite on each", () => {
    const [major, minor] = engineMinimum();
    const versions = ciNodeVersions();
    for (const { major: named, version } of versions) expect(version.split(".")[0]).toBe(String(named));
    const oldest = versions.find((v) => v.major === major);
    expect(oldest, `.ci/run has no NODE_${major}=…`).toBeDefined();
    expect(Number(oldest!.version.split(".")[1])).toBeGreaterThanOrEqual(minor);
    expect(versions.some((v) => v.major > major && v.major % 2 === 0)).toBe(true);
    for (const { major: line } of versions) expect(ci).toMatch(new RegExp(`^on_${line} npm test\\b`, "m"));
    for (const step of ["npm ci", "npm run build", "npm run typecheck", "npm run lint"]) expect(ci).toContain(`on_${major} ${step}`);
  });

  it(".ci/run uses the machine's own Node for nothing but fetching those Node builds", () => {
    const npmLines = ci.split("\n").filter((line) => /^\s*(?!#|echo\b).*\bnpm (?:ci|install|test|run)\b/.test(line));
    const bare = npmLines.filter((line) => !/\bon_\d+ npm\b/.test(line));
    expect(bare).toHaveLength(1);
    expect(bare[0]).toMatch(/npm install .*"node@\$version"/);
  });
});
