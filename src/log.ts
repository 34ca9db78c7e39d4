/**
 * The pino logger. Tokens, cookies and secrets are redacted by path as a second
 * line of defence; the first is that no code passes them to the logger.
 */
import { pino, type DestinationStream, type Logger } from "pino";
import { stdoutDestination } from "./log-destination.js";

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
  /** Where the JSON lines go. Default: stdout through {@link stdoutDestination}. Tests pass a stream to read them. */
  destination?: DestinationStream;
}

/**
 * The service's logger: JSON lines with `service: "cognito-bff"`, ISO times and the redaction above. By default
 * they go to stdout through {@link stdoutDestination}: each line is written to the pipe at once while it takes
 * lines (so a crash or a SIGKILL loses none); when nothing reads, the service waits for the reader at most
 * 100 ms, then lines wait in a 4 MiB buffer and those that do not fit are dropped and counted
 * (`bff_log_dropped_lines_total`). A blocking writer lost nothing but stopped every request when the log
 * collector stalled; pino's default asynchronous writer buffered without bound and lost its buffer in a crash.
 */
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
