/**
 * Where the log lines go: file descriptor 1 (stdout), written so that a log
 * reader that stops reading never stops the service.
 *
 * The trade-off is drop rather than block. While the pipe takes lines, each
 * line is written within the call that logs it (a synchronous write), so a line
 * logged is out of the process and a SIGKILL right after loses nothing. When
 * the pipe is full, the writer waits for the reader, but at most 100 ms at a
 * time and 10% of the time overall: a reader that keeps up frees room within
 * milliseconds. Past that, the reader counts as stalled: lines wait in a 4 MiB
 * buffer, written as soon as the pipe takes them again (each new line, and a
 * timer every 20 ms, offers them), and lines that do not fit are dropped and
 * counted (`bff_log_dropped_lines_total`). Once the pipe has taken the whole
 * buffer, one warning line says how many were dropped. At exit
 * (`process.exit()`, which ends the SIGTERM shutdown; an uncaught exception;
 * the end of the event loop) the buffer is written out, waiting at most 3 s for
 * the reader. A SIGKILL loses what is in the buffer at that moment.
 *
 * Before this, stdout was written with blocking writes: no line lost, but a
 * stalled reader stopped every request (984 of 2000 timed out in a test). And
 * before that, pino's asynchronous writer (at most 16 KB per event-loop turn)
 * fell behind a saturated service and its buffer grew without bound (about
 * 140 MB in 60 s of `npm run bench:load`), lost in a crash.
 *
 * The base is sonic-boom (pino's own writer, `pino.destination()`): it keeps
 * the buffer, writes it in 16 KB pieces, carries on after partial writes, and
 * drops what would pass `maxLength` with a `drop` event. Written by hand here,
 * because sonic-boom cannot do it:
 * - make fd 1 non-blocking: on a blocking pipe every write waits inside the
 *   kernel, whatever the writer does;
 * - wait briefly for the reader: sonic-boom's EAGAIN policies are "sleep 100 ms
 *   and retry, without end" (`retryEAGAIN` returning true; with `sync: true`
 *   the event loop sleeps too) or "keep the bytes and try again at the next
 *   write" (false, used here);
 * - offer the buffer again when no new line comes: it writes only from within
 *   `write()`, so a quiet service would keep its buffer;
 * - count and report the drops;
 * - flush at exit with a deadline: its `flushSync()` has none, and loops
 *   without end on an error other than EAGAIN (EPIPE once the reader is gone).
 * `sync: false` is no answer: its writes go through the thread pool, so lines
 * logged just before a SIGKILL are lost, and on a blocking pipe a write waits
 * in a pool thread that then holds up the exit.
 * @see https://github.com/pinojs/sonic-boom#readme
 * @see https://docs.libuv.org/en/v1.x/pipe.html#c.uv_pipe_open (sets the descriptor non-blocking)
 * @see https://man7.org/linux/man-pages/man7/pipe.7.html (a full pipe: write(2) blocks, or fails with EAGAIN when O_NONBLOCK)
 */
import { fstatSync } from "node:fs";
import { pino, type DestinationStream } from "pino";

/**
 * The buffer for lines the pipe has not taken yet: ~14,000 request lines (~300 bytes each), a few seconds of a
 * saturated replica's log, or minutes of a normal one; small next to the process's ~150 MB.
 */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * Longest wait for a full pipe before the reader counts as stalled. A reader that keeps up but was not scheduled
 * for a moment (a burst of lines, a busy machine) is waited for, so lines reach the pipe instead of a buffer a
 * SIGKILL would lose; 20,000 lines logged in one go waited 40-190 ms in all on this 2-core machine under load.
 */
const MAX_WAIT_MS = 100;
/** The wait budget (at most MAX_WAIT_MS) refills at this share of the time: a slow reader costs at most 10%. */
const WAIT_SHARE = 0.1;
const WAIT_STEP_MS = 1;
/** How often a buffer the pipe did not take is offered again when no new line comes. */
const RETRY_MS = 20;
/** How long the exit waits for the reader to take what is buffered; the grace periods (compose, Kubernetes) allow for it after the drain and the trace flush. */
export const EXIT_FLUSH_MS = 3000;

type SonicBoom = ReturnType<typeof pino.destination>;

export interface BufferedDestinationOptions {
  fd: number;
  /** Bytes of lines kept while the pipe is full; lines that do not fit are dropped. */
  maxBufferBytes: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

/** The warning written once the pipe takes lines again, shaped like the service's pino lines. */
export function droppedLinesWarning(dropped: number, time: Date): string {
  return `${JSON.stringify({ level: 40, time: time.toISOString(), service: "cognito-bff", dropped, msg: "log lines dropped while stdout was blocked" })}\n`;
}

/** A pino destination on a file descriptor that never blocks the event loop for long; see the module comment. */
export class BufferedDestination implements DestinationStream {
  readonly #sonic: SonicBoom;
  /** The last write attempt left bytes unwritten (EAGAIN or another error). */
  #stuck = false;
  #lastError: string | undefined;
  /** The last line was dropped. */
  #droppedNow = false;
  /** Inside a wait loop: nested write errors only mark the attempt stuck. */
  #waiting = false;
  /** Lines are held in the buffer until the pipe takes them all; retried by a timer. */
  #retry: NodeJS.Timeout | undefined;
  #budgetMs = MAX_WAIT_MS;
  #budgetAt = performance.now();
  #dropped = 0;
  #unreported = 0;

  constructor(options: BufferedDestinationOptions) {
    // sync: a line goes to the pipe within write(), not on a later turn (where a SIGKILL would lose it).
    // retryEAGAIN false: on a full pipe sonic-boom keeps the bytes and reports the error; the waiting is done here.
    this.#sonic = pino.destination({ dest: options.fd, sync: true, maxLength: options.maxBufferBytes, retryEAGAIN: () => false });
    // pino's own error listener turns the stream into a no-op at EPIPE (lines then vanish uncounted) and re-emits
    // every other error; this one handles them all.
    this.#sonic.removeAllListeners("error");
    this.#sonic.on("error", (error: NodeJS.ErrnoException) => this.#onError(error));
    this.#sonic.on("drop", () => {
      this.#droppedNow = true;
      this.#dropped += 1;
      this.#unreported += 1;
    });
  }

  /** Lines dropped since the process started because the buffer was full. */
  get droppedLines(): number {
    return this.#dropped;
  }

  write(line: string): void {
    this.#stuck = false;
    this.#droppedNow = false;
    this.#sonic.write(line);
    if (this.#retry !== undefined) {
      // Writing this line offered the whole buffer to the pipe; no error means it took all of it.
      if (!this.#stuck && !this.#droppedNow) this.#unblocked();
    } else if (this.#unreported > 0) {
      // A line dropped without a blocked pipe (larger than the whole buffer): report it now.
      this.#report();
    }
  }

  /**
   * Writes what is buffered, waiting at most `timeoutMs` for the reader (blocking: for the exit, where no
   * event loop turn follows). Returns whether everything was written. pino calls it without an argument after a
   * `fatal` line: one more attempt, no wait.
   */
  flushSync(timeoutMs = 0): boolean {
    if (this.#unreported > 0) this.#report();
    if (this.#retry === undefined) return true;
    this.#offer();
    this.#waitForReader(performance.now() + timeoutMs, 10);
    if (!this.#stuck) this.#unblocked();
    return !this.#stuck;
  }

  #onError(error: NodeJS.ErrnoException): void {
    this.#stuck = true;
    this.#lastError = error.code;
    if (this.#waiting || this.#retry !== undefined) return;
    this.#refillBudget();
    if (this.#budgetMs >= WAIT_STEP_MS) {
      const started = performance.now();
      this.#waitForReader(started + Math.min(this.#budgetMs, MAX_WAIT_MS), WAIT_STEP_MS);
      this.#budgetMs -= performance.now() - started;
    }
    if (this.#stuck) this.#block();
  }

  /** Offers the buffer to the pipe again every `stepMs` until it takes all of it, `until` passes, or a write fails with other than EAGAIN. */
  #waitForReader(until: number, stepMs: number): void {
    this.#waiting = true;
    try {
      while (this.#stuck && (this.#lastError === "EAGAIN" || this.#lastError === "EBUSY") && performance.now() < until) {
        sleep(stepMs);
        this.#offer();
      }
    } finally {
      this.#waiting = false;
    }
  }

  /** One more write attempt of the whole buffer; sets #stuck when the pipe did not take it all. */
  #offer(): void {
    this.#stuck = false;
    // An empty write makes sonic-boom write its buffer again (it only writes from within write()).
    this.#sonic.write("");
  }

  #refillBudget(): void {
    const now = performance.now();
    this.#budgetMs = Math.min(MAX_WAIT_MS, this.#budgetMs + (now - this.#budgetAt) * WAIT_SHARE);
    this.#budgetAt = now;
  }

  #block(): void {
    // Unref'd: a buffer waiting for a stalled reader does not keep the process alive; the exit flushes it.
    this.#retry = setInterval(() => {
      this.#offer();
      if (!this.#stuck) this.#unblocked();
    }, RETRY_MS).unref();
  }

  #unblocked(): void {
    clearInterval(this.#retry);
    this.#retry = undefined;
    if (this.#unreported > 0) this.#report();
  }

  #report(): void {
    const dropped = this.#unreported;
    this.#unreported = 0;
    this.write(droppedLinesWarning(dropped, new Date()));
  }
}

let stdout: BufferedDestination | undefined;

/**
 * The process's stdout log destination (one per process, as fd 1 is): created
 * on first use, which also makes a pipe or socket on fd 1 non-blocking and
 * flushes the buffer at exit.
 */
export function stdoutDestination(): BufferedDestination {
  if (stdout) return stdout;
  if (isPipeOrSocket(1)) {
    // Node opens a pipe or socket on fd 1 with libuv when process.stdout is first read, and libuv makes it
    // non-blocking (uv_pipe_open); the process starts with it blocking. A terminal and a file stay blocking:
    // neither stalls for long. (On Windows Node makes stdout pipes blocking: there a stalled reader still blocks.)
    void process.stdout;
  }
  const destination = new BufferedDestination({ fd: 1, maxBufferBytes: LOG_BUFFER_BYTES });
  // 'exit' runs at process.exit() (the SIGTERM shutdown ends with it), at the end of the event loop, and after an
  // uncaught exception has been printed; only synchronous work happens there.
  process.once("exit", () => destination.flushSync(EXIT_FLUSH_MS));
  stdout = destination;
  return destination;
}

/** Lines of the process's stdout log dropped so far (0 when the stdout destination was never used). */
export function droppedStdoutLogLines(): number {
  return stdout?.droppedLines ?? 0;
}

function isPipeOrSocket(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
