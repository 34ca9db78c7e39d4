/**
 * npm run from tests: the packaging tests pack and install the packages, and the
 * e2e test builds the browser client the demo is bundled with. The npm on PATH
 * is the one running the tests (`npm test`), so it goes with the same Node.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLIENT_DIR = fileURLToPath(new URL("../../packages/client/", import.meta.url));

export interface NpmResult {
  stdout: string;
  stderr: string;
}

/** Runs `npm <args>` in `cwd`; rejects with npm's output when it fails. */
export function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<NpmResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "npm",
      args,
      { cwd, env: { ...process.env, npm_config_fund: "false", npm_config_audit: "false", npm_config_update_notifier: "false", ...env }, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`npm ${args.join(" ")} in ${cwd} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/**
 * Builds @cognito-bff/client's dist/ (ESM, CommonJS and types) from its source in the tree, once per test run.
 * Each e2e file runs in a worker process of its own, and the build starts by deleting dist/: two builds at the same
 * time delete each other's output under the other's bundler. The first worker of a run (the workers of one run share
 * their parent, vitest) builds; the others wait for its outcome.
 */
export async function buildClientPackage(): Promise<void> {
  const claim = join(tmpdir(), `cognito-bff-client-build-${process.ppid}`);
  const outcome = `${claim}.outcome`;
  try {
    mkdirSync(claim);
  } catch {
    for (let waited = 0; !existsSync(outcome); waited += 100) {
      if (waited > 180_000) throw new Error("the browser client's build by another test worker did not finish within 180 s");
      await sleep(100);
    }
    const failure = readFileSync(outcome, "utf8");
    if (failure) throw new Error(`the browser client's build failed in another test worker: ${failure}`);
    return;
  }
  try {
    await npm(["run", "build", "--workspace", "@cognito-bff/client"], ROOT);
    writeFileSync(outcome, "");
  } catch (error) {
    writeFileSync(outcome, error instanceof Error ? error.message : String(error));
    throw error;
  }
}
