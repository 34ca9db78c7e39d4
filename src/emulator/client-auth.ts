/**
 * App-client authentication at /oauth2/token and /oauth2/revoke:
 * `client_secret_basic` or `client_secret_post`; public clients send only `client_id`.
 * @see https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
 */
import type { IncomingHttpHeaders } from "node:http";
import type { EmulatorClient } from "./index.js";
import { safeEqual } from "./secrets.js";
import type { Store } from "./store.js";

/** application/x-www-form-urlencoded decoding of one Basic credential part. */
function formDecode(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, " "));
  } catch {
    return part;
  }
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return { id: "", secret: "" };
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** The authenticated client, or undefined when authentication failed (`invalid_client`). */
export function authenticateClient(headers: IncomingHttpHeaders, body: Record<string, unknown>, store: Store): EmulatorClient | undefined {
  const basic = basicCredentials(headers.authorization);
  const rawId = basic ? basic.id : typeof body.client_id === "string" ? body.client_id : "";
  const rawSecret = basic ? basic.secret : typeof body.client_secret === "string" ? body.client_secret : undefined;
  const client = store.clients.get(basic ? formDecode(rawId) : rawId) ?? store.clients.get(rawId);
  if (!client) return undefined;
  if (client.clientSecret === undefined) return client;
  if (rawSecret === undefined) return undefined;
  // Clients differ in whether they form-encode Basic credentials; accept the secret either way.
  const candidates = basic ? [rawSecret, formDecode(rawSecret)] : [rawSecret];
  return candidates.some((s) => safeEqual(s, client.clientSecret!)) ? client : undefined;
}
