/**
 * Process entry: config -> app -> listen, and a graceful shutdown on
 * SIGTERM/SIGINT (stop accepting, let in-flight requests finish within a
 * deadline, then exit 0).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { createApp } from "./app.js";
import { createCognitoGateway } from "./cognito/cognito-gateway.js";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { createMetrics } from "./metrics.js";
import { createRedisClients } from "./redis.js";

const SHUTDOWN_DEADLINE_MS = 10_000;

export interface RunningServer {
  config: Config;
  log: Logger;
  server: Server;
  /** `http://127.0.0.1:<port>` (the listening address, not PUBLIC_URL). */
  address: string;
  close(): Promise<void>;
}

export interface StartOptions {
  devPage?: boolean;
  host?: string;
}

export async function startServer(env: Record<string, string | undefined>, options: StartOptions = {}): Promise<RunningServer> {
  const config = loadConfig(env);
  const log = createLogger({ level: config.logLevel });
  const metrics = createMetrics({ processMetrics: true });
  const cognito = createCognitoGateway(config.cognito, {
    observe: (operation, outcome, ms) => metrics.cognitoCalls.observe({ operation, outcome }, ms / 1000),
  });
  const redis = config.redisUrl ? createRedisClients({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix }) : undefined;
  const bff = await createApp({ config, cognito, log, metrics, ...(redis ? { redis } : {}), devPage: options.devPage ?? false });
  const { app } = bff;

  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  log.info({ port, publicUrl: config.publicUrl.origin, issuer: config.cognito.issuer }, "listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      const deadline = setTimeout(() => server.closeAllConnections(), SHUTDOWN_DEADLINE_MS);
      deadline.unref();
      server.close(() => {
        clearTimeout(deadline);
        cognito.destroy();
        void bff.close().then(resolve);
      });
      server.closeIdleConnections();
    }));

  return { config, log, server, address: `http://127.0.0.1:${port}`, close };
}

/** Installs SIGTERM/SIGINT handlers that close the server and exit 0. */
export function exitOnSignals(running: RunningServer): void {
  const stop = (signal: string) => {
    running.log.info({ signal }, "shutting down");
    void running.close().then(() => {
      running.log.info("stopped");
      process.exit(0);
    });
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

async function main(): Promise<void> {
  try {
    exitOnSignals(await startServer(process.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cognito-bff: ${error.message}\n`);
    } else {
      process.stderr.write(`cognito-bff: failed to start: ${(error as Error)?.message ?? String(error)}\n`);
    }
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
