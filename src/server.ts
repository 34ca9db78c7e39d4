/**
 * Process entry: config -> app -> listen, and a graceful shutdown on
 * SIGTERM/SIGINT (stop accepting, let in-flight requests finish within a
 * deadline, close Redis, then exit 0).
 */
import { createServer, type Server, type ServerOptions, type ServerResponse } from "node:http";
import { Server as NetServer, type AddressInfo, type Socket } from "node:net";
import { pathToFileURL } from "node:url";
import { ConfigError, type Config } from "./config.js";
import { createBff, type CreateBffOptions } from "./embed.js";
import type { Logger } from "./log.js";

/**
 * After SIGTERM, connections still open this long are cut. A platform's grace
 * period must be longer (deploy/kubernetes's `terminationGracePeriodSeconds`,
 * compose's `stop_grace_period`; test/deploy/kubernetes.test.ts checks it).
 */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/** How long a keep-alive connection idle at the signal may still bring one last request. */
const IDLE_GRACE_MS = 1000;

export interface DrainOptions {
  /** After this, the connections still open are cut. */
  deadlineMs: number;
  idleGraceMs: number;
}

/**
 * Tracks the server's connections (a listener per connection, none per
 * request) and returns the function that drains them.
 *
 * Draining: stop accepting; every answer from then on says `Connection:
 * close` (including those in flight), so keep-alive clients leave after their
 * last answer instead of holding the server open; connections idle at the
 * signal get `idleGraceMs` to bring a request already on its way (closing them
 * at once, as `server.close()` does, resets a request that crossed the signal),
 * then idle connections are closed; whatever is still open at the deadline is
 * cut, relayed WebSockets included (they hold the drain until then: the BFF
 * reads no frame, so it cannot send a close frame of its own). Resolves when
 * every connection is gone.
 */
export function trackConnections(server: Server, options: DrainOptions): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  return () =>
    new Promise<void>((resolve) => {
      const closed = new Promise<void>((done) => {
        // net.Server's close: stop accepting without http.Server's immediate closing of idle connections.
        NetServer.prototype.close.call(server, () => done());
      });
      server.prependListener("request", (_req, res: ServerResponse) => {
        res.shouldKeepAlive = false;
      });
      for (const socket of sockets) {
        // The answer being prepared on this connection, if any (Node keeps it on the socket).
        const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
        if (inFlight && !inFlight.headersSent) inFlight.shouldKeepAlive = false;
      }
      let sweep: NodeJS.Timeout | undefined;
      const grace = setTimeout(() => {
        server.closeIdleConnections();
        // Answers whose headers had gone out before the signal leave keep-alive connections behind.
        sweep = setInterval(() => server.closeIdleConnections(), 100);
      }, options.idleGraceMs);
      const deadline = setTimeout(() => {
        server.closeAllConnections();
        // Upgraded connections (relayed WebSockets) are no longer the HTTP server's to close: they are cut here.
        for (const socket of sockets) socket.destroy();
      }, options.deadlineMs);
      void closed.then(() => {
        clearTimeout(grace);
        clearTimeout(deadline);
        clearInterval(sweep);
        resolve();
      });
    });
}

/**
 * Limits on slow clients. A client gets `HTTP_HEADERS_TIMEOUT_MS` to send its
 * request headers and `HTTP_REQUEST_TIMEOUT_MS` for the whole request (a relayed
 * upload included); an idle keep-alive connection is closed after
 * `HTTP_KEEP_ALIVE_TIMEOUT_MS` (longer than a load balancer's idle timeout, 60 s
 * on AWS ALB, so the balancer closes first). Node checks the first two once per
 * `connectionsCheckingInterval`: every second here, not every 30 s.
 */
export function httpServerOptions(config: Pick<Config, "http">): ServerOptions {
  return {
    headersTimeout: config.http.headersTimeoutMs,
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    connectionsCheckingInterval: 1000,
  };
}

export interface RunningServer {
  config: Config;
  log: Logger;
  server: Server;
  /** `http://127.0.0.1:<port>` (the listening address, not PUBLIC_URL). */
  address: string;
  /** The internal listener's address, with INTERNAL_PORT. */
  internalAddress: string | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  devPage?: CreateBffOptions["devPage"];
  host?: string;
}

export async function startServer(env: Record<string, string | undefined>, options: StartOptions = {}): Promise<RunningServer> {
  const bff = await createBff(env, { devPage: options.devPage ?? false });
  const { config, log } = bff;

  const server = createServer(httpServerOptions(config), bff.handler);
  // WebSockets on /api/*; the internal listener has none, so an upgrade there is an ordinary request.
  server.on("upgrade", bff.upgradeHandler);
  const drain = trackConnections(server, { deadlineMs: SHUTDOWN_DEADLINE_MS, idleGraceMs: IDLE_GRACE_MS });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  log.info({ port, publicUrl: config.publicUrl.origin, issuer: config.cognito.issuer }, "listening");
  const internal = bff.internalHandler && config.internal ? createServer(httpServerOptions(config), bff.internalHandler) : undefined;
  const drainInternal = internal ? trackConnections(internal, { deadlineMs: SHUTDOWN_DEADLINE_MS, idleGraceMs: IDLE_GRACE_MS }) : undefined;
  if (internal && config.internal) {
    const { port: internalPort, host } = config.internal;
    await new Promise<void>((resolve, reject) => {
      internal.once("error", reject);
      internal.listen(internalPort, host, () => resolve());
    });
    log.info({ port: (internal.address() as AddressInfo).port, host }, "internal listener: client upstreams, /metrics, /readyz, /admin");
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      await Promise.all([drain(), drainInternal?.()]);
      // Then the Cognito client and Redis: a request finishing during the drain may still need them.
      await bff.close();
    })());

  const internalAddress = internal ? `http://${config.internal!.host}:${(internal.address() as AddressInfo).port}` : undefined;
  return { config, log, server, address: `http://127.0.0.1:${port}`, internalAddress, close };
}

/** Installs SIGTERM/SIGINT handlers that drain the server, close Redis and exit 0. */
export function exitOnSignals(running: RunningServer): void {
  const stop = (signal: string) => {
    running.log.info({ signal }, "shutting down");
    void running.close().then(
      () => {
        running.log.info("stopped");
        process.exit(0);
      },
      (error: unknown) => {
        running.log.error({ error: { name: (error as Error)?.name, message: (error as Error)?.message } }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

/** The process: start from `process.env`, exit 1 with the reason on stderr when that fails (`npm start`, the `cognito-bff` command). */
export async function main(): Promise<void> {
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
