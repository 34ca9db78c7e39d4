/**
 * The package's entry (`import { createBff } from "cognito-bff"`): the whole
 * BFF built from an environment object, as an Express app that a host app
 * mounts, or that server.ts listens with. Building never listens.
 */
import type { Express } from "express";
import { createApp, type AppDeps } from "./app.js";
import { createCognitoGateway } from "./cognito/cognito-gateway.js";
import { loadConfig, type Config } from "./config.js";
import { createLogger, REDACT_PATHS, type Logger } from "./log.js";
import { createMetrics, observeCognitoCalls } from "./metrics.js";
import type { UpgradeListener } from "./proxy/websocket.js";
import { createRedisClients } from "./redis.js";
import { startTracing } from "./tracing.js";

export { ConfigError, type Config } from "./config.js";
export type { Logger } from "./log.js";

export interface CreateBffOptions {
  /**
   * A pino logger of the host app. The BFF logs through a child of it (bound to
   * `service: "cognito-bff"`, with the BFF's redaction of tokens, cookies and
   * secrets), at the host logger's level. Default: the BFF's own JSON logger on
   * stdout at `LOG_LEVEL`.
   */
  logger?: Logger;
  /** Serve the small sign-in/token page at `/` (`npm run dev` only). */
  devPage?: AppDeps["devPage"];
}

export interface Bff {
  /**
   * The BFF as an Express app. Mount it at the root of the host app, after the
   * host's own routes: `app.use(bff.handler)`. It answers every request that
   * reaches it (paths it does not serve get its JSON `404 not_found`).
   */
  handler: Express;
  /**
   * With INTERNAL_PORT: the internal listener's app (`client` upstreams for services, `/metrics`, `/readyz`,
   * `/admin/*`). Serve it on a port only the cluster reaches; server.ts listens with it on INTERNAL_HOST:INTERNAL_PORT.
   */
  internalHandler: Express | undefined;
  /**
   * The listener for your HTTP server's `upgrade` event: `server.on("upgrade", bff.upgradeHandler)`. It relays
   * WebSockets on `/api/*` (see the README's "Relaying API calls"); without it they are plain GETs to the upstream.
   */
  upgradeHandler: UpgradeListener;
  /** The validated configuration. */
  config: Config;
  /** The logger the BFF writes to. */
  log: Logger;
  /**
   * Releases what the BFF holds (Cognito client sockets, Redis connections) and, with tracing on, exports the last
   * spans (at most 5 s); call it once the HTTP server has closed.
   */
  close(): Promise<void>;
}

/**
 * Builds the BFF from `env` (the variables of the README's Configuration
 * table; nothing else is read from `process.env`): validated config, logger,
 * Cognito gateway with its call metrics, and Redis clients when `REDIS_URL` is
 * set. Configuration warnings are logged.
 *
 * Why the root: Auth.js serves `/auth/*` and builds its callback URL as
 * `PUBLIC_URL` + `/auth/callback/cognito`, the session cookies are set for
 * path `/`, and the SPA calls `/token` and `/api/*` at the BFF's origin. Under
 * a prefix (`app.use("/bff", ...)`) none of these would match. To serve the BFF
 * under a path or another host, run it as its own service behind the proxy.
 *
 * @throws {ConfigError} naming every missing or invalid variable (never its value).
 */
export async function createBff(env: Record<string, string | undefined>, options: CreateBffOptions = {}): Promise<Bff> {
  const config = loadConfig(env);
  const log = options.logger
    ? options.logger.child({ service: "cognito-bff" }, { redact: { paths: [...REDACT_PATHS], censor: "[redacted]" } })
    : createLogger({ level: config.logLevel });
  for (const warning of config.warnings) log.warn(warning);
  const metrics = createMetrics({ processMetrics: true });
  // Tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT): the OpenTelemetry SDK is not even loaded.
  const tracing = await startTracing(config.tracing, log);
  const cognito = createCognitoGateway(config.cognito, { observe: observeCognitoCalls(metrics), tracing });
  const redis = config.redisUrl ? createRedisClients({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix, mode: config.redisMode, sentinelMaster: config.redisSentinelMaster }) : undefined;
  const bff = await createApp({ config, cognito, log, metrics, ...(redis ? { redis } : {}), devPage: options.devPage ?? false, tracing });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      cognito.destroy();
      // Redis goes last: a request finishing during the host's shutdown may still coordinate through it.
      await bff.close();
      // Then the spans of the last requests, within the tracer's deadline: a collector that does not answer holds nothing up.
      await tracing.shutdown();
    })());

  return { handler: bff.app, internalHandler: bff.internalApp, upgradeHandler: bff.upgrade, config, log, close };
}
