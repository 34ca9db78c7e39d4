/**
 * The pino logger. Tokens, cookies and secrets are redacted by path as a second
 * line of defence; the first is that no code passes them to the logger.
 */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Paths pino replaces with "[redacted]" wherever they occur in a log line. */
export const REDACT_PATHS: readonly string[] = [
  "req.headers.cookie",
  "req.headers.authorization",
  "req.headers['x-csrf']",
  "res.headers['set-cookie']",
  "*.access_token",
  "*.id_token",
  "*.refresh_token",
  "*.accessToken",
  "*.idToken",
  "*.refreshToken",
  "*.client_secret",
  "*.clientSecret",
  "*.secret",
  "*.password",
  "access_token",
  "id_token",
  "refresh_token",
  "token",
];

export interface LoggerOptions {
  level: string;
  /** Where the JSON lines go; stdout (stdoutDestination()) by default. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

/**
 * File descriptor 1, written synchronously. pino's default stdout writer is
 * asynchronous and sends at most 16 KB per write, one write per event-loop turn;
 * a saturated service logs faster than that, and the writer's buffer grew without
 * bound (about 140 MB in 60 s of `npm run bench:load`), and would be lost on a
 * crash. A synchronous write costs a syscall per line and waits only while the
 * pipe is full: memory stays flat and every line written is out of the process.
 */
export function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

export function createLogger({ level, destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
      base: { service: "cognito-bff" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? stdoutDestination(),
  );
}

/**
 * Foreign text (an error message from a library or Cognito) made fit for a log
 * line: every run that could be a token, an authorization code or a cookie
 * value (24 or more base64url/JWT characters; a UUID is 36) is replaced, line
 * breaks are folded, and the result is at most `max` characters.
 */
export function loggableText(text: string, max = 200): string {
  return text
    .replace(/[\w+/=.-]{24,}/g, "[redacted]")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, max);
}
