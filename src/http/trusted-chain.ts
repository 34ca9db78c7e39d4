/**
 * `req.ips` for any request, dressed by Express or plain Node (the fast
 * lane's): the addresses the app trusts from `X-Forwarded-For` under its
 * `trust proxy` setting, client first; empty with `trust proxy` off.
 *
 * Express's own getter does the work (the same `proxy-addr` rule, the same
 * `trust proxy fn`), called on a view of the request that holds what it reads
 * (`app`, the headers, the socket), so the rule stays Express's and the
 * request is not given Express's prototype, which costs on the hot path.
 * @see https://expressjs.com/en/guide/behind-proxies.html
 */
import type { IncomingMessage } from "node:http";
import type { Express } from "express";

type IpsGetter = (this: unknown) => string[];

function findGetter(prototype: object, name: string): IpsGetter {
  for (let current: object | null = prototype; current; current = Object.getPrototypeOf(current) as object | null) {
    const getter = Object.getOwnPropertyDescriptor(current, name)?.get;
    if (getter) return getter as IpsGetter;
  }
  throw new Error(`Express's request has no ${name} getter`);
}

/** The trusted chain of `app`'s requests (what `req.ips` gives on a request `app` handles). */
export function trustedChainOf(app: Express): (req: IncomingMessage) => string[] {
  const ips = findGetter(app.request, "ips");
  return (req) => ips.call({ app, headers: req.headers, socket: req.socket, connection: req.socket });
}
