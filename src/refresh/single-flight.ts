/**
 * In-process single-flight: concurrent calls with the same key share one
 * execution and all get its result or its error.
 */
export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** Runs `task` unless one with `key` is already running; `joined` says whether this call waited on another. */
  run(key: string, task: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const running = this.#inFlight.get(key);
    if (running) return { promise: running, joined: true };
    // The task starts on the next microtask, after the entry is stored, so even a task that throws synchronously is cleaned up.
    const promise = Promise.resolve()
      .then(task)
      .finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, promise);
    return { promise, joined: false };
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
