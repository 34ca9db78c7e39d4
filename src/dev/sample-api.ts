/**
 * A sample resource server for the demo and the end-to-end test: it accepts
 * only a valid Cognito access token (signature from the pool's JWKS, issuer,
 * `token_use: access`, the app client) and answers with a few of its claims.
 * The demo calls it directly with the bearer token (CORS for the demo origin)
 * and through the BFF's `/api/sample/` relay. Its WebSocket endpoint (`/echo`,
 * through the relay only: a browser cannot set `Authorization` on a WebSocket)
 * echoes each message. Never loaded in production: it imports `ws`, a
 * devDependency, and only `npm run dev` and the tests import this file.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { WebSocketServer } from "ws";

export interface SampleApiOptions {
  /** The user pool's issuer; the JWKS is `${issuer}/.well-known/jwks.json`. */
  issuer: string;
  /** The app client whose tokens are accepted (`client_id` claim). */
  clientId: string;
  /** Browser origins allowed to call it directly (CORS, no credentials). */
  allowedOrigins: readonly string[];
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The clock tokens are checked against, epoch ms (tests share the emulator's). */
  now?: () => number;
}

export interface SampleApi {
  url: string;
  /** Requests answered 200, by how they came: directly from a browser, or relayed by the BFF. */
  readonly served: { direct: number; relayed: number };
  /** What each accepted WebSocket handshake carried: the token's user, and the names of the cookies (never values). */
  readonly webSockets: { username: string | undefined; cookieNames: string[] }[];
  close(): Promise<void>;
}

/** What the API answers: claims a demo can show, never the token itself. */
export interface SampleAnswer {
  message: string;
  via: "direct" | "bff";
  path: string;
  sub: string | undefined;
  username: string | undefined;
  scope: string | undefined;
  expires_at: number | undefined;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

/** Starts the sample API; `close()` stops it. */
export async function startSampleApi(options: SampleApiOptions): Promise<SampleApi> {
  const { issuer, clientId, now = Date.now } = options;
  const allowed = new Set(options.allowedOrigins);
  const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
  const served = { direct: 0, relayed: 0 };
  const webSockets: SampleApi["webSockets"] = [];

  async function verify(req: IncomingMessage): Promise<JWTPayload | undefined> {
    const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(req.headers.authorization ?? "");
    if (!match) return undefined;
    try {
      const { payload } = await jwtVerify(match[1]!, jwks, { issuer, currentDate: new Date(now()), algorithms: ["RS256"] });
      return payload.token_use === "access" && payload.client_id === clientId ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  const server = createServer((req, res) => {
    const origin = req.headers.origin;
    const cors: Record<string, string> = { Vary: "Origin" };
    if (origin && allowed.has(origin)) {
      Object.assign(cors, {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Allow-Methods": "GET",
        "Access-Control-Max-Age": "600",
      });
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, cors);
      res.end();
      return;
    }
    if (req.method !== "GET") return send(res, 405, { error: "method_not_allowed" }, { ...cors, Allow: "GET, OPTIONS" });
    verify(req).then(
      (claims) => {
        if (!claims) {
          return send(res, 401, { error: "invalid_token" }, { ...cors, "WWW-Authenticate": 'Bearer error="invalid_token"' });
        }
        const via = req.headers["x-forwarded-host"] ? "bff" : "direct";
        served[via === "bff" ? "relayed" : "direct"] += 1;
        const answer: SampleAnswer = {
          message: `Hello from the sample API (${via === "bff" ? "relayed by the BFF" : "called directly"})`,
          via,
          path: (req.url ?? "/").split("?")[0]!,
          sub: typeof claims.sub === "string" ? claims.sub : undefined,
          username: typeof claims.username === "string" ? claims.username : undefined,
          scope: typeof claims.scope === "string" ? claims.scope : undefined,
          expires_at: claims.exp,
        };
        send(res, 200, answer, cors);
      },
      () => send(res, 500, { error: "server_error" }, cors),
    );
  });
  // `/echo`: a valid access token on the handshake, then every text message comes back as {echo, username}.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const refuse = (status: string) => socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    if ((req.url ?? "").split("?")[0] !== "/echo") return refuse("404 Not Found");
    verify(req).then(
      (claims) => {
        if (!claims) return refuse("401 Unauthorized");
        const username = typeof claims.username === "string" ? claims.username : undefined;
        const cookieNames = (req.headers.cookie ?? "").split(";").map((pair) => pair.split("=")[0]!.trim()).filter(Boolean);
        webSockets.push({ username, cookieNames });
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on("message", (data, isBinary) => {
            if (!isBinary) ws.send(JSON.stringify({ echo: String(data), username }));
          });
        });
      },
      () => refuse("500 Internal Server Error"),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    served,
    webSockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
