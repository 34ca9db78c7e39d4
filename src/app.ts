/**
 * createApp(): wires middleware and routes from plain dependencies. It never
 * listens and holds no global state, so a test builds a fresh app per case.
 */
import { ExpressAuth } from "@auth/express";
import express, { type Express, type RequestHandler } from "express";
import { createAuthConfig } from "./auth/auth-config.js";
import { createSessionCodec } from "./auth/session-codec.js";
import { createSessionStore, sessionCookieName, type SessionStore } from "./auth/session-store.js";
import type { CognitoGateway } from "./cognito/cognito-gateway.js";
import type { Config } from "./config.js";
import { browserGuards } from "./http/browser-guards.js";
import { errorHandler, notFound } from "./http/error-handler.js";
import { requestLogger } from "./http/request-logger.js";
import type { Logger } from "./log.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { createLocalCoordinator, type RefreshCoordinator } from "./refresh/refresh-coordinator.js";
import { RedisCoordinator } from "./refresh/redis-coordinator.js";
import { createResultSeal } from "./refresh/result-seal.js";
import { createTokenRefresher, type TokenRefresher } from "./refresh/token-refresher.js";
import type { RedisClients } from "./redis.js";
import { devPage } from "./routes/dev-page.js";
import { mountHealthRoutes } from "./routes/health.js";
import { mountTokenRoutes } from "./routes/token.js";

export interface AppDeps {
  config: Config;
  cognito: CognitoGateway;
  log: Logger;
  /** Epoch milliseconds; tests share the emulator's clock. */
  now?: () => number;
  /** Turns on cross-replica coordination. */
  redis?: RedisClients;
  metrics?: Metrics;
  /** Serve the small sign-in/token page at `/` (npm run dev only). */
  devPage?: boolean;
}

export interface BffApp {
  app: Express;
  sessions: SessionStore;
  refresher: TokenRefresher;
  coordinator: RefreshCoordinator;
  metrics: Metrics;
  /** Releases what the app holds (Redis connections); the caller closes the HTTP server. */
  close(): Promise<void>;
}

/**
 * Auth.js builds its URLs (callback, redirects) from the request; behind a
 * proxy or a port mapping that is not the public URL, so the request is made
 * to look as if it came to PUBLIC_URL.
 */
function asPublicUrl(publicUrl: URL): RequestHandler {
  const protocol = publicUrl.protocol.replace(/:$/, "");
  return (req, _res, next) => {
    req.headers.host = publicUrl.host;
    Object.defineProperty(req, "protocol", { value: protocol, configurable: true });
    next();
  };
}

function createCoordinator(config: Config, log: Logger, metrics: Metrics, now: () => number, redis?: RedisClients): RefreshCoordinator {
  const resultTtlSeconds = config.refreshResultTtlSeconds;
  if (!redis) return createLocalCoordinator({ now, resultTtlSeconds });
  return new RedisCoordinator({
    redis: redis.redis,
    subscriber: redis.subscriber,
    channelPrefix: redis.keyPrefix,
    seal: createResultSeal(config.authSecrets),
    now,
    resultTtlSeconds,
    // The lease outlasts one refresh (all attempts); it is renewed while the holder works anyway.
    leaseMs: config.cognito.timeoutMs + 1000,
    waitTimeoutMs: config.cognito.timeoutMs + 1000,
    log,
    metrics,
  });
}

export async function createApp(deps: AppDeps): Promise<BffApp> {
  const { config, cognito, log, now = Date.now, redis, devPage: withDevPage = false } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const secure = config.publicUrl.protocol === "https:";
  const codec = await createSessionCodec({
    secrets: config.authSecrets,
    cookieName: sessionCookieName(secure),
    maxAgeSeconds: config.sessionMaxAgeSeconds,
    now,
  });
  const sessions = createSessionStore(codec, { secure, now });
  const coordinator = createCoordinator(config, log, metrics, now, redis);
  const refresher = createTokenRefresher({ cognito, coordinator, now, skewSeconds: config.refreshSkewSeconds, log, metrics });
  const authConfig = createAuthConfig({ config, cognito, refresher, log, now });

  const app = express();
  app.disable("x-powered-by");
  // Every JSON answer here is no-store; an ETag would only cost a hash per response.
  app.set("etag", false);
  app.set("trust proxy", config.trustProxy);

  app.use(requestLogger(app, log));
  const guard = browserGuards({ publicOrigin: config.publicUrl.origin, allowedOrigins: config.allowedOrigins });
  mountTokenRoutes(app, { sessions, refresher, includeIdToken: config.includeIdToken, now, guard });
  mountHealthRoutes(app, { coordinator, metrics });
  app.use("/auth", asPublicUrl(config.publicUrl), ExpressAuth(authConfig));
  if (withDevPage) app.get("/", devPage());
  app.use(notFound);
  app.use(errorHandler(sessions));

  return { app, sessions, refresher, coordinator, metrics, close: () => coordinator.close() };
}
