/**
 * What the benchmarks share: bench/servers.ts started in a child process
 * (pinned to CPU 0 where taskset exists, with this process, the load
 * generator, moved to the other cores so the two do not fight over one), its
 * line-per-message control channel, and the statistics of paired rounds.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { createInterface } from "node:readline";

export interface BenchServers {
  child: ChildProcess;
  /** Whether the servers run pinned to CPU 0. */
  pinned: boolean;
  /** The next JSON line the servers print (the first one describes them). */
  next(): Promise<unknown>;
  /** Sends one control line ("expire", "profile-start", ...). */
  send(line: string): void;
}

export function startBenchServers(env: NodeJS.ProcessEnv = process.env): BenchServers {
  const pinned = process.platform === "linux" && spawnSync("taskset", ["-c", "0", "true"]).status === 0;
  const command = [process.execPath, "--expose-gc", "--import", "tsx", "bench/servers.ts"];
  const options = { stdio: ["pipe", "pipe", "inherit"] as ["pipe", "pipe", "inherit"], env };
  const child = pinned ? spawn("taskset", ["-c", "0", ...command], options) : spawn(command[0]!, command.slice(1), options);
  if (pinned) spawnSync("taskset", ["-p", "-c", `1-${Math.max(1, availableParallelism() - 1)}`, String(process.pid)]);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    pinned,
    next: async () => JSON.parse(String((await lines.next()).value)) as unknown,
    send: (line) => void child.stdin!.write(`${line}\n`),
  };
}

export function pinningNote(pinned: boolean): string {
  return pinned ? "servers pinned to CPU 0, load on the others" : "no CPU pinning";
}

export function best<T extends { rps: number }>(rows: T[]): T {
  return rows.reduce((a, b) => (b.rps > a.rps ? b : a));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
