/**
 * `Vary` on a plain Node response, as Express's `res.vary()` (the `vary`
 * package) sets it: the field added once (compared without case) to the list
 * there, joined into one value; `*` anywhere makes the whole value `*`. Plain
 * so that the fast lane's responses, which do not carry Express's helpers, and
 * Express's share one rule.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-12.5.5 (Vary)
 * @see https://github.com/jshttp/vary/blob/v1.1.2/index.js
 */
import type { ServerResponse } from "node:http";

export function addVary(res: ServerResponse, field: string): void {
  const current = res.getHeader("Vary");
  const value = Array.isArray(current) ? current.join(", ") : current === undefined ? "" : String(current);
  const wanted = field.toLowerCase();
  let present = false;
  for (const token of value.split(",")) {
    const name = token.trim().toLowerCase();
    if (name === "*") {
      res.setHeader("Vary", "*");
      return;
    }
    if (name === wanted) present = true;
  }
  res.setHeader("Vary", present ? value : value ? `${value}, ${field}` : field);
}
