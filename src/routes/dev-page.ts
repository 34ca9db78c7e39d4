/**
 * A one-page tool for `npm run dev`: sign in, call `/token` (with the CSRF
 * header a browser address bar cannot send), force a refresh, sign out; and
 * a pointer to the cross-origin demo SPA.
 * Never mounted in production.
 */
import type { RequestHandler } from "express";

export interface DevPageOptions {
  /** The demo SPA's URL as `npm run dev` started it (DEMO_PORT); without it the page links to no demo. */
  demoUrl?: string;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const page = (demo: string) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>cognito-bff dev</title>
<style>body{font:15px system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
pre{background:#f4f4f4;padding:1rem;overflow:auto;white-space:pre-wrap;word-break:break-all}
button,a.button{font:inherit;margin:.2rem .4rem .2rem 0;padding:.4rem .8rem}</style></head>
<body>
<h1>cognito-bff (dev)</h1>
${demo}
<p><a class="button" href="/auth/signin?callbackUrl=/">Sign in</a>
<button id="token">GET /token</button>
<button id="refresh">POST /token/refresh</button>
<a class="button" href="/auth/signout?callbackUrl=/">Sign out</a></p>
<h2>Session</h2><pre id="session">…</pre>
<h2>Token</h2><pre id="out">Press a button.</pre>
<script type="module">
const out = document.getElementById("out");
async function call(method, path) {
  const res = await fetch(path, { method, credentials: "include", headers: { "X-CSRF": "1" } });
  out.textContent = res.status + " " + JSON.stringify(await res.json(), null, 2);
}
document.getElementById("token").onclick = () => call("GET", "/token");
document.getElementById("refresh").onclick = () => call("POST", "/token/refresh");
fetch("/auth/session").then((r) => r.json()).then((s) => {
  document.getElementById("session").textContent = s && s.user ? JSON.stringify(s, null, 2) : "Not signed in.";
});
</script>
</body></html>`;

export function devPage(options: DevPageOptions = {}): RequestHandler {
  const url = options.demoUrl === undefined ? undefined : escapeHtml(options.demoUrl);
  const html = page(
    url === undefined
      ? "<p>The demo SPA, on its own origin with the browser client: its address is printed by <code>npm run dev</code>.</p>"
      : `<p>The demo SPA, on its own origin with the browser client: <a href="${url}">${url}</a>.</p>`,
  );
  return (_req, res) => {
    res.type("html").send(html);
  };
}
