import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

/**
 * The service's stdout log: a process that logs 20,000 lines in one event-loop
 * turn and is then killed (no exit handler runs) has written every line. With
 * pino's default asynchronous writer, lines wait in its buffer (without bound
 * under load) and die with the process.
 */
describe("log destination (stdout)", () => {
  it("has written every line when the process is killed right after logging", async () => {
    const script = `
      const { createLogger } = await import("./src/log.ts");
      const log = createLogger({ level: "info" });
      for (let i = 0; i < 20000; i++) log.info({ i }, "line");
      process.kill(process.pid, "SIGKILL");
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on("close", (_code, sig) => resolve(sig)));

    expect(signal).toBe("SIGKILL");
    const lines = output.split("\n").filter(Boolean);
    expect(lines).toHaveLength(20000);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ i: 19999, msg: "line", service: "cognito-bff" });
  }, 30_000);
});
