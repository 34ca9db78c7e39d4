#!/usr/bin/env node
/**
 * The per-module mutation gate: reads StrykerJS's JSON report and fails when a module under mutation testing
 * scores under 90% or is missing from the report. Stryker's own `thresholds.break` judges the whole run only.
 *
 * Usage: node scripts/mutation-gate.mjs [--report <file>] [module ...]
 * With modules named (e.g. after `stryker run --mutate src/x.ts`), only those are judged.
 *
 * Score as Stryker computes it: detected (Killed, Timeout) over valid mutants (detected, Survived, NoCoverage);
 * Ignored, CompileError and RuntimeError mutants do not count.
 * @see https://github.com/stryker-mutator/mutation-testing-elements/tree/master/packages/report-schema
 * @see https://stryker-mutator.io/docs/mutation-testing-elements/mutant-states-and-metrics/
 */
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import process from "node:process";
import { MUTATED_MODULES } from "../stryker.config.mjs";

export const MIN_SCORE = 90;

const DETECTED = new Set(["Killed", "Timeout"]);
const UNDETECTED = new Set(["Survived", "NoCoverage"]);

/**
 * @param {{ files: Record<string, { mutants: Array<{ status: string, mutatorName: string, replacement?: string, location: { start: { line: number, column: number } } }> }> }} report
 * @param {readonly string[]} modules
 */
export function scoreModules(report, modules) {
  const byModule = new Map(Object.entries(report.files).map(([name, file]) => [relative(process.cwd(), resolve(name)).replaceAll("\\", "/"), file]));
  return modules.map((module) => {
    // A `file:start-end` entry (a mutation range) is judged by its file, which then holds that range's mutants only.
    const file = byModule.get(module.replace(/:\d+-\d+$/, ""));
    if (!file) return { module, missing: true, score: NaN, detected: 0, survived: [], excluded: 0 };
    const survived = file.mutants.filter((m) => UNDETECTED.has(m.status));
    const detected = file.mutants.filter((m) => DETECTED.has(m.status)).length;
    const valid = detected + survived.length;
    return {
      module,
      missing: false,
      // A module without a single valid mutant has nothing left to detect.
      score: valid === 0 ? 100 : (100 * detected) / valid,
      detected,
      survived,
      excluded: file.mutants.length - valid,
    };
  });
}

function main(argv) {
  const reportAt = argv.indexOf("--report");
  const reportFile = reportAt === -1 ? "reports/mutation/mutation.json" : argv[reportAt + 1];
  const named = argv.filter((arg, i) => arg !== "--report" && (reportAt === -1 || i !== reportAt + 1));
  const modules = named.length > 0 ? named : MUTATED_MODULES;
  const report = JSON.parse(readFileSync(reportFile, "utf8"));
  const rows = scoreModules(report, modules);

  const width = Math.max(...rows.map((r) => r.module.length));
  const out = [`${"module".padEnd(width)}  score    killed  survived  not counted`];
  for (const r of rows) {
    const score = r.missing ? "missing" : `${r.score.toFixed(1)}%`;
    out.push(`${r.module.padEnd(width)}  ${score.padStart(7)}  ${String(r.detected).padStart(6)}  ${String(r.survived.length).padStart(8)}  ${String(r.excluded).padStart(11)}`);
  }
  const failed = rows.filter((r) => r.missing || r.score < MIN_SCORE);
  for (const r of failed) {
    out.push("", r.missing ? `${r.module}: not in ${reportFile}` : `${r.module}: ${r.score.toFixed(1)}% < ${MIN_SCORE}%, survivors:`);
    for (const m of r.survived) {
      const replacement = (m.replacement ?? "").replace(/\s+/g, " ").slice(0, 100);
      out.push(`  ${r.module}:${m.location.start.line}:${m.location.start.column + 1} ${m.status} ${m.mutatorName}: ${replacement}`);
    }
  }
  out.push("", failed.length === 0 ? `mutation gate: every module at ${MIN_SCORE}% or more` : `mutation gate: ${failed.length} module(s) under ${MIN_SCORE}%`);
  process.stdout.write(`${out.join("\n")}\n`);
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
