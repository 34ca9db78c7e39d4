/**
 * Fault injection per operation: an error answer, a delay, a dropped
 * connection or a malformed body, for the next `times` calls or until
 * cleared. Also the call counters, which count every request, faulted or not.
 */
import type { Request, Response } from "express";
import { AMZ_JSON, defaultStatus, writeAwsError, writeOAuthError } from "./responses.js";

export type Operation =
  | "InitiateAuth"
  | "GetTokensFromRefreshToken"
  | "RevokeToken"
  | "GlobalSignOut"
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
  "GlobalSignOut",
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

/** The operations of the X-Amz-Target JSON API; the others are OAuth/OIDC endpoints. */
export const API_OPERATIONS: readonly Operation[] = ["InitiateAuth", "GetTokensFromRefreshToken", "RevokeToken", "GlobalSignOut"];

export interface FaultSpec {
  /** Answer with this error: Cognito's JSON shape for API operations, `{"error": code}` for the OAuth endpoints. */
  error?: { code: string; status?: number; message?: string };
  /** Wait this long first, then apply the rest of the fault (or answer normally). */
  delayMs?: number;
  /** Destroy the socket without answering. */
  drop?: boolean;
  /**
   * Carry out the call (a refresh rotates, a revocation revokes), then destroy
   * the socket instead of answering: Cognito did the work, its answer was lost.
   */
  dropAnswer?: boolean;
  /** Answer 200 with a body that is not valid JSON. */
  malformed?: boolean;
  /** How many calls it applies to; default: until cleared. */
  times?: number;
}

export class Faults {
  readonly #faults = new Map<Operation, FaultSpec & { remaining: number }>();
  readonly #calls = new Map<Operation, number>();

  set(op: Operation, spec: FaultSpec): void {
    this.#faults.set(op, { ...spec, remaining: spec.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.#faults.clear();
  }

  calls(op: Operation): number {
    return this.#calls.get(op) ?? 0;
  }

  resetCalls(): void {
    this.#calls.clear();
  }

  /** Counts the call and applies a pending fault; true when the fault answered (or dropped) the request. */
  async apply(op: Operation, req: Request, res: Response): Promise<boolean> {
    this.#calls.set(op, this.calls(op) + 1);
    const fault = this.#faults.get(op);
    if (!fault || fault.remaining <= 0) return false;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.#faults.delete(op);
    if (fault.delayMs) {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (req.socket.destroyed) return true;
    }
    const api = API_OPERATIONS.includes(op);
    if (fault.dropAnswer) {
      res.end = (() => {
        req.socket.destroy();
        return res;
      }) as Response["end"];
      return false;
    }
    if (fault.drop) {
      req.socket.destroy();
      return true;
    }
    if (fault.malformed) {
      res.status(200).type(api ? AMZ_JSON : "application/json").send('{"AuthenticationResult": {"AccessToken": "trunc');
      return true;
    }
    if (fault.error) {
      const { code, status = defaultStatus(code), message = `Injected ${code}` } = fault.error;
      if (api) writeAwsError(res, code, status, message);
      else writeOAuthError(res, code, status);
      return true;
    }
    return false;
  }
}
