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
import { createTokenRefresher, type RefreshEvents, type TokenRefresher } from "./refresh/token-refresher.js";
import { devPage } from "./routes/dev-page.js";
import { mountHealthRoutes } from "./routes/health.js";
import { mountTokenRoutes } from "./routes/token.js";

export interface AppDeps {
  config: Config;
  cognito: CognitoGateway;
  log: Logger;
  /** Epoch milliseconds; tests share the emulator's clock. */
  now?: () => number;
  refreshEvents?: RefreshEvents;
  /** Serve the small sign-in/token page at `/` (npm run dev only). */
  devPage?: boolean;
}

export interface BffApp {
  app: Express;
  sessions: SessionStore;
  refresher: TokenRefresher;
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

export async function createApp({ config, cognito, log, now = Date.now, refreshEvents, devPage: withDevPage = false }: AppDeps): Promise<BffApp> {
  const secure = config.publicUrl.protocol === "https:";
  const codec = await createSessionCodec({
    secrets: config.authSecrets,
    cookieName: sessionCookieName(secure),
    maxAgeSeconds: config.sessionMaxAgeSeconds,
    now,
  });
  const sessions = createSessionStore(codec, { secure, now });
  const refresher = createTokenRefresher({ cognito, now, skewSeconds: config.refreshSkewSeconds, log, events: refreshEvents ?? {} });
  const authConfig = createAuthConfig({ config, cognito, refresher, log, now });

  const app = express();
  app.disable("x-powered-by");
  // Every JSON answer here is no-store; an ETag would only cost a hash per response.
  app.set("etag", false);
  app.set("trust proxy", config.trustProxy);

  app.use(requestLogger(log));
  const guard = browserGuards({ publicOrigin: config.publicUrl.origin, allowedOrigins: config.allowedOrigins });
  mountTokenRoutes(app, { sessions, refresher, includeIdToken: config.includeIdToken, now, guard });
  mountHealthRoutes(app);
  app.use("/auth", asPublicUrl(config.publicUrl), ExpressAuth(authConfig));
  if (withDevPage) app.get("/", devPage());
  app.use(notFound);
  app.use(errorHandler(sessions));

  return { app, sessions, refresher };
}
