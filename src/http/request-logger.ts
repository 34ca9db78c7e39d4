/**
 * One JSON log line per request, with a request id (`X-Request-Id` accepted
 * when well-formed, generated otherwise, and returned). Only method, path
 * (never the query string, which can hold an authorization code), status and
 * timing are logged: no header, cookie or body.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pinoHttp } from "pino-http";
import type { Logger } from "../log.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function requestLogger(log: Logger) {
  return pinoHttp({
    logger: log,
    genReqId(req: IncomingMessage, res: ServerResponse) {
      const offered = req.headers["x-request-id"];
      const id = typeof offered === "string" && REQUEST_ID.test(offered) ? offered : randomUUID();
      res.setHeader("X-Request-Id", id);
      return id;
    },
    customLogLevel(_req, res, error) {
      if (error || res.statusCode >= 500) return "error";
      return "info";
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split("?")[0] }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      err: (err: Error) => ({ type: err?.name, message: err?.message }),
    },
    wrapSerializers: false,
  });
}
