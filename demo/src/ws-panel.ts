/**
 * The demo's live echo panel: a WebSocket to the sample API's `/echo` through
 * the BFF (`/api/sample/echo`). The browser sends only its cookie and Origin;
 * the BFF checks the Origin, puts the user's bearer token on the upstream
 * handshake, and then streams the frames both ways.
 */

export interface WsPanel {
  /** Enables the panel when signed in; disconnects and disables it when not. */
  setSignedIn(signedIn: boolean): void;
}

/** `http(s)://bff/...` as the matching `ws(s)://` URL. */
function webSocketUrl(bffUrl: string, path: string): string {
  const url = new URL(path, bffUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

/** Fills `root` (an empty card) with the panel and wires it. */
export function mountWsPanel(root: HTMLElement, options: { bffUrl: string }): WsPanel {
  root.innerHTML = `
    <h2 id="ws-heading">Live echo (WebSocket)</h2>
    <p class="ws-status">State: <span id="ws-state">closed</span></p>
    <p class="actions">
      <button id="ws-connect" type="button">Connect</button>
      <button id="ws-disconnect" type="button">Disconnect</button>
    </p>
    <form id="ws-form" class="actions">
      <input id="ws-message" type="text" value="hello" aria-label="Message" maxlength="200" />
      <button id="ws-send" type="submit">Send</button>
    </form>
    <ol id="ws-log" aria-live="polite"></ol>
    <p class="note">Opened at <code>/api/sample/echo</code> on the BFF: the upstream gets the bearer token, the browser holds none.</p>`;
  const $ = <T extends HTMLElement = HTMLElement>(id: string) => root.querySelector(`#${id}`) as T;
  const state = $("ws-state");
  const connect = $<HTMLButtonElement>("ws-connect");
  const disconnect = $<HTMLButtonElement>("ws-disconnect");
  const form = $<HTMLFormElement>("ws-form");
  const input = $<HTMLInputElement>("ws-message");
  const send = $<HTMLButtonElement>("ws-send");
  const log = $("ws-log");
  let socket: WebSocket | null = null;
  let signedIn = false;

  const note = (kind: "sent" | "echo" | "info", text: string) => {
    const item = document.createElement("li");
    item.className = `ws-${kind}`;
    item.textContent = `${kind === "sent" ? "→" : kind === "echo" ? "←" : "·"} ${text}`;
    log.append(item);
    while (log.children.length > 20) log.firstElementChild?.remove();
  };
  const render = () => {
    const open = socket?.readyState === WebSocket.OPEN;
    state.textContent = socket === null ? "closed" : open ? "open" : socket.readyState === WebSocket.CONNECTING ? "connecting" : "closing";
    root.dataset.ws = state.textContent;
    connect.disabled = !signedIn || socket !== null;
    disconnect.disabled = socket === null;
    send.disabled = !open;
  };

  connect.onclick = () => {
    const ws = new WebSocket(webSocketUrl(options.bffUrl, "/api/sample/echo"));
    socket = ws;
    ws.onopen = () => {
      note("info", "connected");
      render();
    };
    ws.onmessage = (event) => {
      try {
        const { echo } = JSON.parse(String(event.data)) as { echo: string };
        note("echo", echo);
      } catch {
        note("echo", String(event.data));
      }
    };
    // A refused handshake (401, 403) is only a close with code 1006 to a page: the reason is in the BFF's log.
    ws.onclose = (event) => {
      if (socket === ws) socket = null;
      note("info", `closed (${event.code}${event.reason ? ` ${event.reason}` : ""})`);
      render();
    };
    render();
  };
  disconnect.onclick = () => {
    socket?.close(1000, "bye");
    render();
  };
  form.onsubmit = (event) => {
    event.preventDefault();
    if (socket?.readyState !== WebSocket.OPEN || input.value === "") return;
    socket.send(input.value);
    note("sent", input.value);
  };
  render();

  return {
    setSignedIn(next) {
      signedIn = next;
      if (!next && socket) socket.close(1000, "signed out");
      render();
    },
  };
}
