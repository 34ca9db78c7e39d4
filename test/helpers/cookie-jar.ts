/**
 * A minimal browser-like client for tests: a cookie jar (one per test, cookies
 * by name; every server here is 127.0.0.1, and browsers ignore ports for
 * cookies) and fetch with manual redirects, so each hop can be asserted.
 */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  /** A browser's User-Agent, sent with every request of this jar when set. */
  constructor(readonly userAgent?: string) {}

  /** Applies the Set-Cookie headers of a response (Max-Age=0 or a past Expires deletes). */
  store(response: Response): string[] {
    const setCookies = response.headers.getSetCookie();
    for (const line of setCookies) {
      const [pair, ...attributes] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k, v] = a.split("=").map((s) => s.trim());
        if (/^max-age$/i.test(k!)) return Number(v) <= 0;
        if (/^expires$/i.test(k!)) return Date.parse(v!) <= Date.now();
        return false;
      });
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return setCookies;
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** Session cookie names currently held (chunked or not). */
  sessionCookieNames(): string[] {
    return [...this.cookies.keys()].filter((k) => k.includes("authjs.session-token"));
  }

  clone(): CookieJar {
    const copy = new CookieJar(this.userAgent);
    for (const [k, v] of this.cookies) copy.cookies.set(k, v);
    return copy;
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.header();
    if (cookie) headers.set("cookie", cookie);
    if (this.userAgent && !headers.has("user-agent")) headers.set("user-agent", this.userAgent);
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    this.store(response);
    return response;
  }
}

/** The fields of the first HTML form on a page. */
export function parseForm(html: string, baseUrl: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in page: ${html.slice(0, 200)}`);
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]*)"/i.exec(input[0])?.[1];
    const value = /value="([^"]*)"/i.exec(input[0])?.[1] ?? "";
    if (name) fields[name] = decodeHtml(value);
  }
  return { action: new URL(decodeHtml(form[1]!), baseUrl).toString(), fields };
}

function decodeHtml(s: string): string {
  return s.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}
