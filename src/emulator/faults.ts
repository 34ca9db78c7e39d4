/**
 * Fault injection per operation: an error answer, a delay, a dropped
 * connection or a malformed body, for the next `times` calls or until cleared.
 */
import type { Request, Response } from "express";

export type Operation =
  | "InitiateAuth"
  | "GetTokensFromRefreshToken"
  | "RevokeToken"
  | "token:authorization_code"
  | "token:refresh_token"
  | "token:client_credentials"
  | "authorize"
  | "login"
  | "userInfo"
  | "revoke"
  | "logout"
  | "jwks"
  | "discovery";

export const OPERATIONS: readonly Operation[] = [
  "InitiateAuth",
  "GetTokensFromRefreshToken",
  "RevokeToken",
  "token:authorization_code",
  "token:refresh_token",
  "token:client_credentials",
  "authorize",
  "login",
  "userInfo",
  "revoke",
  "logout",
  "jwks",
  "discovery",
];

export interface FaultSpec {
  error?: { code: string; status?: number; message?: string };
  delayMs?: number;
  /** Destroy the socket without answering. */
  drop?: boolean;
  /** Answer 200 with a body that is not JSON. */
  malformed?: boolean;
  /** How many calls it applies to; default: until cleared. */
  times?: number;
}

/** How an error fault is written: the Cognito JSON API shape or the OAuth shape. */
export type ErrorWriter = (res: Response, code: string, status: number, message: string) => void;

export class Faults {
  readonly #faults = new Map<Operation, FaultSpec & { remaining: number }>();
  readonly #calls = new Map<Operation, number>();

  set(op: Operation, spec: FaultSpec): void {
    this.#faults.set(op, { ...spec, remaining: spec.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.#faults.clear();
  }

  count(op: Operation): void {
    this.#calls.set(op, (this.#calls.get(op) ?? 0) + 1);
  }

  calls(op: Operation): number {
    return this.#calls.get(op) ?? 0;
  }

  resetCalls(): void {
    this.#calls.clear();
  }

  /** Counts the call and applies a pending fault; true when the fault answered (or dropped) the request. */
  async apply(op: Operation, req: Request, res: Response, writeError: ErrorWriter): Promise<boolean> {
    this.count(op);
    const fault = this.#faults.get(op);
    if (!fault || fault.remaining <= 0) return false;
    fault.remaining -= 1;
    if (fault.delayMs) {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (req.socket.destroyed) return true;
    }
    if (fault.drop) {
      req.socket.destroy();
      return true;
    }
    if (fault.malformed) {
      res.status(200).type("application/x-amz-json-1.1").send('{"AuthenticationResult": {"AccessToken": "trunc');
      return true;
    }
    if (fault.error) {
      const status = fault.error.status ?? (fault.error.code === "InternalErrorException" ? 500 : 400);
      writeError(res, fault.error.code, status, fault.error.message ?? `Injected ${fault.error.code}`);
      return true;
    }
    return false;
  }
}
