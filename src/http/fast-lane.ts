/**
 * The fast lane: `/token`, `/token/refresh` and `/api/{upstream}/*` answered
 * in front of Express's router, with the same edge (security headers, request
 * id, log line, metrics, request span), the same browser guard, the same
 * handlers and the same error handler as the routes; every other request goes
 * to the router (Auth.js, docs, health, sessions, 404s).
 *
 * Why: on this service's hot paths Express cost more than the work. Its
 * router (layer matching, parameter decoding, the `next()` chain) was about a
 * fifth of a `GET /token`'s CPU time in a profile, and giving Node's request
 * and response Express's prototypes (`Object.setPrototypeOf`, in
 * `app.handle()`) slows every later access to them. Measured with
 * bench/token.ts on a busy machine: about 128 µs of CPU per `GET /token`
 * through the router, 104 µs in this lane with Express's prototypes, 60 µs
 * without them (a bare Express route: about 88 µs).
 *
 * It takes only what it can route exactly as Express does, and hands the rest
 * to the router, whose routes stay mounted and answer as before:
 * - an origin-form target (`/…`) without the characters that make Express read
 *   the URL with `url.parse()` instead (`#`, whitespace, `\u00a0`, `\ufeff`;
 *   `url.parse()` also turns `\` into `/`): absolute-form (`http://host/token`),
 *   `//token`, `/token#x` go to the router;
 * - a path Express's route would match: case-insensitive, one optional
 *   trailing slash (`/token/`, `/TOKEN`), `/api/` and a non-empty name;
 * - for `/api`, a path whose percent-escapes decode (the router decodes the
 *   route's parameters and answers 400 when it cannot);
 * - not an upgrade request (the WebSocket route comes first on `/api`).
 *
 * A request keeps Node's plain request and response objects on the way that
 * needs none of Express's helpers (`/token` without a query string, the
 * relay): the edge, the guard and the handlers are plain Node, the log hook
 * Express's responses inherit from `app.response.end` is set on the response
 * itself, and the request gets the route it stands for (`req.route.path`,
 * which the metrics and span names read). The rest first gets what Express's
 * `app.handle()` gives a request (the app's request and response prototypes:
 * `req.query`, `res.status().json()` for the error handler): a `/token` query
 * string, an error, and a request already dressed by a host app that mounted
 * this one (whose prototypes, and `trust proxy`, are the host's).
 * @see https://github.com/expressjs/express/blob/v5.1.0/lib/application.js (app.handle)
 * @see https://github.com/pillarjs/router/blob/v2.2.0/index.js (the router it skips)
 */
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from "express";
import { upgradeOf } from "../proxy/websocket.js";

type Handler = (req: Request, res: Response) => Promise<void>;

export interface FastLaneOptions {
  /** The app's first middleware: security headers, request id and the start of the log line (and span). */
  edge: RequestHandler;
  /** The CSRF/Origin/CORS rules for browser calls. */
  guard: RequestHandler;
  /** `notAllowed` throws (synchronously) the 405 of a token path. */
  token: { token: Handler; refresh: Handler; notAllowed: (req: Request, res: Response) => never };
  /** The relay (no upstreams configured: none, and `/api` goes to the router's 404). */
  relay?: Handler | undefined;
  /** The paths of the token routes for every method, as mounted (see src/routes/token.ts). */
  tokenPaths: string[];
  /** The relay's route, as mounted (see src/routes/proxy.ts). */
  apiRoute: string;
  errorHandler: ErrorRequestHandler;
}

/** What Express's `app.handle()` takes: the app's own entry, and a sub-app's when a host app mounts it. */
type Handle = (req: Request, res: Response, callback?: NextFunction) => void;

/**
 * Characters after which parseurl (what Express's router reads the path with)
 * gives up its fast path for `url.parse()`, which reads the URL differently.
 * @see https://github.com/pillarjs/parseurl/blob/v1.3.3/index.js (fastparse)
 */
const UNPLAIN = "\\t\\n\\f\\r #\\u00a0\\ufeff";
const QUERY = `(?:\\?[^${UNPLAIN}]*)?`;
/** `/token` or `/token/refresh`, one optional trailing slash, any case, then an optional query. */
const TOKEN_URL = new RegExp(`^/token(/refresh)?/?${QUERY}$`, "i");
/** `/api/` and a name that does not start with `/` (Express's `:upstream` is never empty), any path, an optional query. */
const API_URL = new RegExp(`^/api/[^/?${UNPLAIN}][^?${UNPLAIN}]*${QUERY}$`, "i");

/** Whether every percent-escape of the path decodes, as the router's parameter decoding requires. */
function decodes(url: string): boolean {
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  if (!path.includes("%")) return true;
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Puts the fast lane in front of `app`'s router: `app.handle` is the entry
 * of both `app(req, res)` and a host app that mounts `app`. Install it once
 * every route, the request logger included, is in place.
 */
export function installFastLane(app: Express, options: FastLaneOptions): void {
  const { edge, guard, token, relay, errorHandler } = options;
  const expressHandle = (app as unknown as { handle: Handle }).handle;
  // The log hook the request logger put on the app's response prototype (see request-logger.ts).
  const endAndLog = app.response.end;
  // What routeLabel() reads: the path of the route Express would have matched (for every method but GET/HEAD and
  // POST the OPTIONS and 405 routes, mounted on both paths, whose label is the path when it is one of them exactly).
  const [tokenPath = "/token", refreshPath = "/token/refresh"] = options.tokenPaths;
  const tokenRoute = Object.freeze({ path: tokenPath });
  const refreshRoute = Object.freeze({ path: refreshPath });
  const apiRoute = Object.freeze({ path: options.apiRoute });
  // Thrown, not rejected, as by the route: Express answers a synchronous throw at once, before Node's parser reads
  // on (a body sent without framing is parsed as the next request, whose 400 must not overtake this answer).
  const methodNotAllowed = token.notAllowed;

  /** Express's setup of a request: its prototypes (once; a host app's are replaced, as a mounted app does). */
  function dress(req: Request, res: Response): void {
    if (Object.getPrototypeOf(req) === app.request) return;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
  }

  /** The error handler, on a dressed request; what it passes on goes to the host app, or ends the connection. */
  function fail(req: Request, res: Response, callback: NextFunction | undefined, error: unknown): void {
    dress(req, res);
    // Express's final handler, for an answer that had begun: the connection is cut.
    const done: NextFunction = (passed?: unknown) => (callback ? callback(passed) : req.socket.destroy());
    try {
      errorHandler(error, req, res, done);
    } catch (thrown) {
      done(thrown);
    }
  }

  /** The handler and route for a request the lane takes; undefined for the router's. */
  function match(req: Request, url: string): [Handler, { path: unknown }] | undefined {
    if (upgradeOf(req)) return undefined;
    const tokenMatch = TOKEN_URL.exec(url);
    if (tokenMatch) {
      const method = req.method;
      if (tokenMatch[1] === undefined) {
        if (method === "GET" || method === "HEAD") return [token.token, tokenRoute];
      } else if (method === "POST") return [token.refresh, refreshRoute];
      // The OPTIONS and 405 routes (the guard answers a preflight), labelled with the path when it is exactly theirs.
      const query = url.indexOf("?");
      return [methodNotAllowed, (query === -1 ? url : url.slice(0, query)) === refreshPath ? refreshRoute : tokenRoute];
    }
    if (relay && API_URL.test(url) && decodes(url)) return [relay, apiRoute];
    return undefined;
  }

  function handle(this: Express, req: Request, res: Response, callback?: NextFunction): void {
    const url = req.url;
    const matched = match(req, url);
    if (!matched) {
      expressHandle.call(this, req, res, callback);
      return;
    }
    const handler = matched[0];
    // What app.handle() and the router set on every request (x-powered-by is off on this app).
    req.res = res;
    if (!res.locals) res.locals = Object.create(null) as Response["locals"];
    req.originalUrl ||= url;
    req.baseUrl = "";
    (req as { route: unknown }).route = matched[1];
    // A host app's request carries its `app`; a plain one none.
    if ((handler !== relay && url.includes("?")) || (req as { app?: unknown }).app !== undefined) dress(req, res);
    else res.end = endAndLog;
    edge(req, res, () =>
      guard(req, res, (error?: unknown) => {
        if (error) return fail(req, res, callback, error);
        let answered: Promise<void>;
        try {
          answered = handler(req, res);
        } catch (thrown) {
          return fail(req, res, callback, thrown);
        }
        answered.catch((failure: unknown) => fail(req, res, callback, failure));
      }),
    );
  }

  (app as unknown as { handle: Handle }).handle = handle;
}
