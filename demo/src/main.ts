/**
 * The demo SPA: served on its own origin, it talks to the BFF cross-origin
 * with credentials. It imports the client as any SPA does, `@cognito-bff/client`.
 */
import { createBffClient, isSignInRequired, type AccessToken, type BffUser } from "@cognito-bff/client";
import { mountWsPanel } from "./ws-panel.js";

const MIN_TTL = 30;
const bff = createBffClient({ baseUrl: __BFF_URL__, minTtl: MIN_TTL });

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  status: $("status"),
  signIn: $<HTMLButtonElement>("sign-in"),
  signInGoogle: $<HTMLButtonElement>("sign-in-google"),
  identity: $("identity"),
  signOut: $<HTMLButtonElement>("sign-out"),
  refresh: $<HTMLButtonElement>("refresh"),
  callBff: $<HTMLButtonElement>("call-bff"),
  callDirect: $<HTMLButtonElement>("call-direct"),
  ttl: $("token-ttl"),
  bar: $("token-bar"),
  tokenId: $("token-id"),
  tokenExp: $("token-exp"),
  tokenSkew: $("token-skew"),
  apiResult: $("api-result"),
  error: $("error"),
};
$("spa-origin").textContent = location.origin;
$("bff-origin").textContent = new URL(__BFF_URL__).origin;
const wsPanel = mountWsPanel($("ws-panel"), { bffUrl: __BFF_URL__ });

let user: BffUser | null = null;
/** Lifetime of the token when it arrived, for the progress bar. */
let fullLife = 1;

function showError(error: unknown): void {
  ui.error.hidden = false;
  ui.error.textContent = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The token's claims are for display only; the API verifies the token itself. */
function claims(token: AccessToken): Record<string, unknown> {
  try {
    const payload = token.accessToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function renderSession(): void {
  const signedIn = user !== null;
  document.body.dataset.state = signedIn ? "signed-in" : "signed-out";
  ui.status.textContent = signedIn ? `Signed in as ${user?.email ?? user?.username ?? "?"}${user?.name ? ` (${user.name})` : ""}` : "Signed out.";
  ui.signIn.disabled = signedIn;
  ui.signInGoogle.disabled = signedIn;
  // Where the user came from and their Cognito groups (a federated user is in <pool>_Google).
  ui.identity.hidden = !signedIn;
  ui.identity.textContent = signedIn ? `Via ${user?.identity_provider ?? "?"} · groups: ${user?.groups?.length ? user.groups.join(", ") : "none"}` : "";
  for (const button of [ui.signOut, ui.refresh, ui.callBff, ui.callDirect]) button.disabled = !signedIn;
  wsPanel.setSignedIn(signedIn);
}

function renderToken(): void {
  const token = bff.peekToken();
  if (!token) {
    ui.ttl.textContent = "–";
    ui.bar.style.width = "0";
    for (const el of [ui.tokenId, ui.tokenExp, ui.tokenSkew]) el.textContent = "–";
    return;
  }
  const left = Math.floor(bff.secondsLeft());
  ui.ttl.textContent = `${left} s left`;
  ui.ttl.dataset.seconds = String(left);
  ui.bar.style.width = `${Math.min(100, (100 * left) / fullLife)}%`;
  const jti = claims(token).jti;
  ui.tokenId.textContent = typeof jti === "string" ? jti : "?";
  ui.tokenExp.textContent = new Date(token.expiresAt * 1000).toISOString().replace(".000", "");
  const skew = Math.round(token.clockSkewMs / 1000);
  ui.tokenSkew.textContent = Math.abs(skew) <= 1 ? "in step (±1 s)" : `server is ${Math.abs(skew)} s ${skew > 0 ? "ahead" : "behind"}`;
}

bff.onChange((token) => {
  if (token) fullLife = Math.max(1, Math.round(bff.secondsLeft()));
  else if (user) {
    // Another tab signed out, or the session ended.
    user = null;
    renderSession();
  }
  renderToken();
});

async function withErrors(task: () => Promise<void>): Promise<void> {
  ui.error.hidden = true;
  try {
    await task();
  } catch (error) {
    if (isSignInRequired(error)) {
      user = null;
      renderSession();
    }
    showError(error);
  }
}

async function showApiAnswer(response: Response): Promise<void> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Shown as text.
  }
  ui.apiResult.textContent = `${response.status}\n${JSON.stringify(body, null, 2)}`;
}

ui.signIn.onclick = () => void withErrors(() => bff.signIn());
ui.signInGoogle.onclick = () => void withErrors(() => bff.signIn({ identityProvider: "Google" }));
ui.signOut.onclick = () => void withErrors(() => bff.signOut());
ui.refresh.onclick = () => void withErrors(async () => void (await bff.getToken({ forceRefresh: true })));
ui.callBff.onclick = () => void withErrors(async () => showApiAnswer(await bff.fetchBff("/api/sample/hello")));
ui.callDirect.onclick = () => void withErrors(async () => showApiAnswer(await bff.fetchWithToken(`${__SAMPLE_API_URL__}/hello`)));

/** Every second: count down, and keep a token with at least MIN_TTL seconds in hand. */
function tick(): void {
  renderToken();
  if (user && bff.secondsLeft() <= MIN_TTL) void withErrors(async () => void (await bff.getToken()));
}

async function start(): Promise<void> {
  await withErrors(async () => {
    user = await bff.getUser();
    renderSession();
    if (user) await bff.getToken();
  });
  if (document.body.dataset.state === "loading") renderSession();
  setInterval(tick, 1000);
}

void start();
