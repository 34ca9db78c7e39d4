import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES } from "../../src/config.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("the README's configuration table", () => {
  it("documents exactly the variables the config schema reads", () => {
    const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## How a refresh works"));
    const documented = new Set<string>();
    for (const row of section.split("\n").filter((l) => l.startsWith("| `"))) {
      const firstCell = row.split("|")[1]!;
      for (const match of firstCell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) documented.add(match[1]!);
    }
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});
