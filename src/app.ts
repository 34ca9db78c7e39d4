/**
 * createApp(): wires middleware and routes from plain dependencies. It never
 * listens and holds no global state, so a test builds a fresh app per case.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ExpressAuth } from "@auth/express";
import express, { type Express, type RequestHandler } from "express";
import { createAuthConfig } from "./auth/auth-config.js";
import { createClientCredentials } from "./cognito/client-credentials.js";
import { createRevocations, type Revocations } from "./auth/revocations.js";
import { createRefreshTokenRevoker } from "./auth/revoke-refresh-token.js";
import { createSessionEnder } from "./auth/end-session.js";
import { createSessionCodec } from "./auth/session-codec.js";
import { createRedisSessionStore } from "./auth/redis-session-store.js";
import type { SessionCodec } from "./auth/session-codec.js";
import { createSessionStore, sessionCookieName, type SessionStore, type WriteContext } from "./auth/session-store.js";
import type { CognitoGateway } from "./cognito/cognito-gateway.js";
import type { Config } from "./config.js";
import { isBffError } from "./errors.js";
import { authActionsOnly } from "./http/auth-actions.js";
import { AUTH_READABLE_PATHS, authCors } from "./http/auth-cors.js";
import { browserGuards } from "./http/browser-guards.js";
import { errorHandler, notFound } from "./http/error-handler.js";
import { installFastLane } from "./http/fast-lane.js";
import { requestLogger } from "./http/request-logger.js";
import { applySecurityHeaders, computeSecurityHeaders } from "./http/security-headers.js";
import { createReadiness, type ReadinessOptions } from "./health/readiness.js";
import type { Logger } from "./log.js";
import { createMetrics, observeHttpRequests, type Metrics } from "./metrics.js";
import { createLocalCoordinator, type RefreshCoordinator } from "./refresh/refresh-coordinator.js";
import { RedisCoordinator } from "./refresh/redis-coordinator.js";
import { createResultSeal } from "./refresh/result-seal.js";
import { createTokenRefresher, type TokenRefresher } from "./refresh/token-refresher.js";
import type { RedisClients } from "./redis.js";
import { devPage, type DevPageOptions } from "./routes/dev-page.js";
import { mountDocsRoutes } from "./routes/docs.js";
import { mountAdminRoutes } from "./routes/admin.js";
import { mountHealthRoutes, mountLivenessRoute } from "./routes/health.js";
import { API_ROUTE, mountProxyRoutes } from "./routes/proxy.js";
import { createUpgradeListener, type UpgradeListener } from "./proxy/websocket.js";
import { mountSessionRoutes } from "./routes/sessions.js";
import { mountTokenRoutes, TOKEN_PATHS } from "./routes/token.js";
import { NO_TRACING, type Tracing } from "./tracing.js";

export interface AppDeps {
  config: Config;
  cognito: CognitoGateway;
  log: Logger;
  /** Epoch milliseconds; tests share the emulator's clock. */
  now?: () => number;
  /** Turns on cross-replica coordination. */
  redis?: RedisClients;
  metrics?: Metrics;
  /** Serve the small sign-in/token page at `/` (npm run dev only); the options say where the demo SPA is. */
  devPage?: boolean | DevPageOptions;
  /** Tuning of the `/readyz` checks (tests shorten the caching). */
  readiness?: Pick<ReadinessOptions, "timeoutMs" | "successTtlMs" | "failureTtlMs">;
  /** OpenTelemetry spans (startTracing() in tracing.ts); off by default. Give the Cognito gateway the same one. */
  tracing?: Tracing;
  /**
   * `/token*` and `/api/*` answered in front of Express's router (src/http/fast-lane.ts); on by default. Off, the
   * router answers them with the same handlers: tests compare the two.
   */
  fastLane?: boolean;
}

export interface BffApp {
  app: Express;
  /** The internal listener's app (INTERNAL_PORT): `client` upstreams without a session, `/metrics`, `/readyz`, `/admin/*`. */
  internalApp?: Express;
  sessions: SessionStore;
  refresher: TokenRefresher;
  coordinator: RefreshCoordinator;
  metrics: Metrics;
  /** Administrative session revocation (shared through Redis when configured). */
  revocations: Revocations;
  /**
   * The listener for the HTTP server's `upgrade` event (`server.on("upgrade", upgrade)`): WebSockets through
   * `/api/*`; every other upgrade request gets the app's ordinary answer, with `Connection: close`.
   */
  upgrade: UpgradeListener;
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

/** The BFF's own client-credentials tokens, when an upstream needs them (config has checked the secret and domain). */
function clientCredentialsFor(config: Config, now: () => number, tracing: Tracing) {
  const { cognito } = config;
  if (!Object.values(config.upstreams).some((u) => u.token === "client") || !cognito.clientSecret || !cognito.domain) return undefined;
  return createClientCredentials({
    tokenUrl: `${cognito.domain}/oauth2/token`,
    clientId: cognito.clientId,
    clientSecret: cognito.clientSecret,
    authMethod: cognito.tokenAuthMethod,
    now,
    timeoutMs: cognito.timeoutMs,
    tracing,
  });
}

/** What Auth.js's callbacks and the session store learn of the request they serve. */
interface RequestContext extends WriteContext {
  /** `POST /auth/signout` with the form field `everywhere=true`. */
  signOutEverywhere?: boolean;
}

const parseSignOutForm = express.urlencoded({ extended: true });

/**
 * Runs the rest of the request inside its context. The sign-out form is parsed
 * first (Auth.js then finds it parsed), outside the context: a body is read in
 * the socket's callbacks, not in the request's.
 */
function withRequestContext(requestContext: AsyncLocalStorage<RequestContext>): RequestHandler {
  return (req, res, next) => {
    const userAgent = req.headers["user-agent"];
    if (req.method !== "POST" || req.path !== "/signout") return requestContext.run({ userAgent }, next);
    parseSignOutForm(req, res, (error?: unknown) => {
      if (error) return next(error);
      const everywhere = (req.body as Record<string, unknown> | undefined)?.everywhere;
      requestContext.run({ userAgent, signOutEverywhere: everywhere === "true" || everywhere === "1" }, next);
    });
  };
}

interface SessionDeps {
  codec: SessionCodec;
  secure: boolean;
  now: () => number;
  revocations: Revocations;
  redis: RedisClients | undefined;
  currentContext: () => WriteContext;
}

/** The configured session store: sealed in the cookie, or in Redis behind a ticket. */
function createSessions(config: Config, { codec, secure, now, revocations, redis, currentContext }: SessionDeps): SessionStore {
  if (config.sessionStore === "cookie") return createSessionStore(codec, { secure, now }, undefined, revocations);
  if (!redis) throw new Error("SESSION_STORE=redis needs the Redis clients (REDIS_URL)");
  return createRedisSessionStore({ redis, secrets: config.authSecrets, codec, attributes: { secure, now }, revocations, currentContext });
}

/**
 * Auth.js reads the session through the store, and takes any failure to read
 * it as "no session": it would answer `null` and clear the cookie while Redis
 * is merely down. So `/auth/session` and `/auth/signout` read it first, and a
 * store that cannot answer is a 503 with the cookie kept.
 */
function sessionStoreAnswers(sessions: SessionStore): RequestHandler {
  if (!sessions.authjs) return (_req, _res, next) => next();
  return (req, _res, next) => {
    if (req.path !== "/session" && req.path !== "/signout") return next();
    sessions.read(req.headers.cookie).then(
      () => next(),
      (error: unknown) => next(isBffError(error) && error.code === "temporarily_unavailable" ? error : undefined),
    );
  };
}

export async function createApp(deps: AppDeps): Promise<BffApp> {
  const { config, cognito, log, now = Date.now, redis, devPage: withDevPage = false, tracing = NO_TRACING } = deps;
  const metrics = deps.metrics ?? createMetrics();
  const secure = config.publicUrl.protocol === "https:";
  const codec = await createSessionCodec({
    secrets: config.authSecrets,
    cookieName: sessionCookieName(secure),
    maxAgeSeconds: config.sessionMaxAgeSeconds,
    now,
  });
  const revokeRefreshToken = createRefreshTokenRevoker({ cognito, log, metrics });
  const revocations = await createRevocations({
    now,
    ttlSeconds: config.sessionMaxAgeSeconds,
    log,
    revokeRefreshToken,
    ...(redis ? { redis } : {}),
  });
  // What the request says of itself (its User-Agent), for session writes made inside Auth.js.
  const requestContext = new AsyncLocalStorage<RequestContext>();
  const sessions = createSessions(config, { codec, secure, now, revocations, redis, currentContext: () => requestContext.getStore() ?? {} });
  const coordinator = createCoordinator(config, log, metrics, now, redis);
  const refresher = createTokenRefresher({
    cognito,
    coordinator,
    now,
    skewSeconds: config.refreshSkewSeconds,
    minIntervalSeconds: config.refreshMinIntervalSeconds,
    log,
    metrics,
    tracing,
  });
  const endSession = createSessionEnder({
    sessions,
    revocations,
    coordinator,
    revokeRefreshToken,
    cognito,
    log,
    everywhere: () => requestContext.getStore()?.signOutEverywhere === true,
  });
  const authConfig = createAuthConfig({ config, refresher, endSession, log, now, revocations, sessions });

  /** A new app with its first layer (security headers, request log), which is also the fast lane's edge. */
  const newExpressApp = (): { created: Express; edge: RequestHandler } => {
    const created = express();
    created.disable("x-powered-by");
    // Every JSON answer here is no-store; an ETag would only cost a hash per response.
    created.set("etag", false);
    created.set("trust proxy", config.trustProxy);
    const logRequests = requestLogger(created, log, { observe: observeHttpRequests(metrics), tracing });
    const securityHeaders = computeSecurityHeaders({ https: secure });
    // One layer for both: every Express layer costs on the hot path.
    const edge: RequestHandler = (req, res, next) => {
      applySecurityHeaders(res, securityHeaders);
      logRequests(req, res, next);
    };
    created.use(edge);
    return { created, edge };
  };
  const { created: app, edge: appEdge } = newExpressApp();
  // With INTERNAL_PORT, what only operators and services may call is served there and not on the public port.
  const internalApp = config.internal ? newExpressApp().created : undefined;
  const operations = internalApp ?? app;
  const guard = browserGuards({ publicOrigin: config.publicUrl.origin, allowedOrigins: config.allowedOrigins });
  const tokenHandlers = mountTokenRoutes(app, { sessions, refresher, includeIdToken: config.includeIdToken, now, guard });
  const readiness = createReadiness({
    issuer: config.cognito.issuer,
    domain: config.cognito.domain,
    ...deps.readiness,
    ...(redis ? { pingRedis: () => redis.redis.ping() } : {}),
    onResult: (dependency, up) => metrics.dependencyUp.set({ dependency }, up ? 1 : 0),
  });
  mountLivenessRoute(app);
  if (internalApp) mountLivenessRoute(internalApp);
  mountHealthRoutes(operations, { readiness, coordinator, metrics });
  mountDocsRoutes(app);
  const hasUpstreams = Object.keys(config.upstreams).length > 0;
  const proxyOptions = { upstreams: config.upstreams, sessions, refresher, clientCredentials: clientCredentialsFor(config, now, tracing), metrics, publicUrl: config.publicUrl, tracing, allowedOrigins: config.allowedOrigins };
  const proxies = hasUpstreams ? [mountProxyRoutes(app, { ...proxyOptions, guard })] : [];
  // Services call client upstreams on the internal port: no session, no browser rules.
  const noBrowserRules: RequestHandler = (_req, _res, next) => next();
  if (hasUpstreams && internalApp && Object.values(config.upstreams).some((u) => u.token === "client")) {
    proxies.push(mountProxyRoutes(internalApp, { ...proxyOptions, guard: noBrowserRules, listener: "internal" }));
  }
  if (config.adminSecret) mountAdminRoutes(operations, { adminSecret: config.adminSecret, revocations, shared: redis !== undefined });
  if (sessions.directory) {
    mountSessionRoutes(app, {
      sessions,
      directory: sessions.directory,
      guard,
      afterEnd: async ({ sid, refreshToken, sub }) => {
        await revocations.revokeSession(sid);
        if (refreshToken) await revokeRefreshToken(refreshToken, { user: sub, reason: "sign-out" });
      },
    });
  }
  app.get(AUTH_READABLE_PATHS, authCors(config.allowedOrigins));
  app.use(
    "/auth",
    authActionsOnly(config.cognito.identityProviders),
    withRequestContext(requestContext),
    sessionStoreAnswers(sessions),
    asPublicUrl(config.publicUrl),
    ExpressAuth(authConfig),
  );
  if (withDevPage) app.get("/", devPage(withDevPage === true ? {} : withDevPage));
  const handleErrors = errorHandler(sessions);
  for (const served of internalApp ? [app, internalApp] : [app]) {
    served.use(notFound);
    served.use(handleErrors);
  }
  // `/token*` and `/api/*` answered in front of the router, by the same edge, guard, handlers and error handler.
  if (deps.fastLane !== false) {
    installFastLane(app, {
      edge: appEdge,
      guard,
      token: tokenHandlers,
      relay: hasUpstreams ? proxies[0]!.handle : undefined,
      tokenPaths: TOKEN_PATHS,
      apiRoute: API_ROUTE,
      errorHandler: handleErrors,
    });
  }

  const close = async () => {
    await revocations.close();
    await coordinator.close();
    await Promise.all(proxies.map((p) => p.close()));
  };
  return { app, ...(internalApp ? { internalApp } : {}), upgrade: createUpgradeListener(app), sessions, refresher, coordinator, metrics, revocations, close };
}
