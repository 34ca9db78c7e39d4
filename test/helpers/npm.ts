/**
 * npm run from tests: the packaging tests pack and install the packages, and the
 * e2e test builds the browser client the demo is bundled with. The npm on PATH
 * is the one running the tests (`npm test`), so it goes with the same Node.
 */
import { execFile } from "node:child_process";
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

/** Builds @cognito-bff/client's dist/ (ESM, CommonJS and types) from its source in the tree. */
export async function buildClientPackage(): Promise<void> {
  await npm(["run", "build", "--workspace", "@cognito-bff/client"], ROOT);
}
