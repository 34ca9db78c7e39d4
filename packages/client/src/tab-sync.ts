/// <reference lib="dom" />
/**
 * Coordination between the tabs of one browser: a Web Lock around the call
 * that may refresh, so only one tab at a time asks the BFF, and a
 * BroadcastChannel that hands the fresh token to the others (and tells them
 * about a sign-out). Both are same-origin browser features; a token never
 * leaves the browser's memory this way.
 * @see https://developer.mozilla.org/docs/Web/API/Web_Locks_API
 * @see https://html.spec.whatwg.org/multipage/web-messaging.html#broadcasting-to-other-browsing-contexts
 */
import { parseSharedToken, type AccessToken } from "./token.js";

export type TabMessage = { type: "token"; token: AccessToken } | { type: "signed-out" };

export interface TabSync {
  /**
   * Runs `task` while holding the refresh lock shared by every tab (and every
   * client of this page with the same name). `waited` is true when someone
   * else held the lock first, i.e. a fresh token is probably on its way.
   */
  exclusive<T>(task: (waited: boolean) => Promise<T>): Promise<T>;
  /** Sends to the other tabs (never back to the sender). */
  publish(message: TabMessage): void;
  subscribe(listener: (message: TabMessage) => void): () => void;
  close(): void;
}

/** The part of the Web Locks API used here (`navigator.locks`). */
export interface LockManagerLike {
  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
  request(name: string, callback: (lock: unknown) => Promise<unknown>): Promise<unknown>;
}

export interface TabSyncOptions {
  /** Lock and channel name. */
  name: string;
  /** Default `navigator.locks`; null or absent there: a lock shared only within this page. */
  locks?: LockManagerLike | null;
  /** Default: `BroadcastChannel` where it exists; null: no messages between tabs. */
  createChannel?: ((name: string) => BroadcastChannel) | null;
}

const pageQueues = new Map<string, Promise<void>>();

/** The fallback without Web Locks: a FIFO lock shared by the clients of this page. */
function pageExclusive<T>(name: string, task: (waited: boolean) => Promise<T>): Promise<T> {
  const previous = pageQueues.get(name);
  const run = previous ? previous.then(() => task(true)) : task(false);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  pageQueues.set(name, tail);
  void tail.then(() => {
    if (pageQueues.get(name) === tail) pageQueues.delete(name);
  });
  return run;
}

function defaultLocks(): LockManagerLike | null {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks ?? null;
}

function defaultChannel(): ((name: string) => BroadcastChannel) | null {
  return typeof BroadcastChannel === "function" ? (name) => new BroadcastChannel(name) : null;
}

function parseMessage(data: unknown): TabMessage | undefined {
  if (!data || typeof data !== "object") return undefined;
  const { type, token } = data as Record<string, unknown>;
  if (type === "signed-out") return { type };
  if (type !== "token") return undefined;
  const parsed = parseSharedToken(token);
  return parsed ? { type, token: parsed } : undefined;
}

/** Web Locks plus BroadcastChannel where the browser has them, page-local fallbacks where not. */
export function createTabSync(options: TabSyncOptions): TabSync {
  const { name } = options;
  const locks = options.locks === undefined ? defaultLocks() : options.locks;
  const createChannel = options.createChannel === undefined ? defaultChannel() : options.createChannel;
  const channel = createChannel ? createChannel(name) : null;
  const listeners = new Set<(message: TabMessage) => void>();
  if (channel) {
    channel.onmessage = (event: MessageEvent) => {
      const message = parseMessage(event.data);
      if (message) for (const listener of listeners) listener(message);
    };
  }

  const busy = Symbol("busy");
  return {
    async exclusive<T>(task: (waited: boolean) => Promise<T>): Promise<T> {
      if (!locks) return pageExclusive(name, task);
      const first = await locks.request(name, { ifAvailable: true }, async (lock) => (lock ? task(false) : busy));
      if (first !== busy) return first as T;
      return (await locks.request(name, () => task(true))) as T;
    },
    publish(message) {
      channel?.postMessage(message);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close() {
      listeners.clear();
      channel?.close();
    },
  };
}
