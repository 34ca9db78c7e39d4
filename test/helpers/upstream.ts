/**
 * A real upstream HTTP server for relay tests: it records what reached it
 * (method, URL, headers, body size and hash, whether the client went away)
 * and answers with a handler the test sets.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
  bodySha256: string;
  /** Set when the connection closed before the answer was finished. */
  aborted: boolean;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void | Promise<void>;

export interface Upstream {
  url: string;
  port: number;
  seen: SeenRequest[];
  /** Replaces the handler; the default echoes what it saw as JSON once the body is read. */
  handle(handler: UpstreamHandler): void;
  close(): Promise<void>;
}

/** Reads the body (hashing it, never keeping it) into `seen`. */
export async function drain(req: IncomingMessage, seen: SeenRequest): Promise<void> {
  const hash = createHash("sha256");
  for await (const chunk of req) {
    seen.bodyBytes += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  seen.bodySha256 = hash.digest("hex");
}

export const echo: UpstreamHandler = async (req, res, seen) => {
  await drain(req, seen);
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ method: seen.method, url: seen.url, bodyBytes: seen.bodyBytes }));
};

export async function startUpstream(handler: UpstreamHandler = echo): Promise<Upstream> {
  let current = handler;
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const entry: SeenRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, bodyBytes: 0, bodySha256: "", aborted: false };
    seen.push(entry);
    res.once("close", () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    Promise.resolve(current(req, res, entry)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
