/**
 * A Cognito user pool emulator for `npm run dev` and the tests: the Hosted UI
 * and OAuth/OIDC endpoints, and the JSON API operations a BFF uses, with
 * Cognito's claims, errors, SECRET_HASH and refresh-token rotation. Its clock,
 * call counters and fault injection are for tests. Never loaded in production.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { createClock } from "./clock.js";
import { Faults, OPERATIONS, type FaultSpec, type Operation } from "./faults.js";
import { Grants } from "./grants.js";
import { idpApi } from "./idp-api.js";
import { oauthRoutes } from "./oauth-routes.js";
import { Store, type RefreshState } from "./store.js";
import { createSigningKeys, TokenMinter } from "./tokens.js";

export { computeSecretHash } from "./idp-api.js";
export type { FaultSpec, Operation, RefreshState };

export interface EmulatorUser {
  /** cognito:username; a UUID in email-as-username pools, equal to sub. */
  username: string;
  sub?: string;
  email: string;
  password: string;
  emailVerified?: boolean;
  groups?: string[];
  attributes?: Record<string, string>;
}

export interface EmulatorClient {
  clientId: string;
  clientSecret?: string;
  redirectUris: string[];
  logoutUris: string[];
  /** Allowed OAuth scopes; default openid, email, profile, aws.cognito.signin.user.admin. */
  scopes?: string[];
  rotation?: { enabled: boolean; gracePeriodSeconds?: number };
  /** Resource-server scopes allowed for client_credentials, e.g. "reports/read". */
  clientCredentialsScopes?: string[];
}

export interface EmulatorOptions {
  port?: number;
  host?: string;
  region?: string;
  poolId?: string;
  users?: EmulatorUser[];
  clients?: EmulatorClient[];
  accessTokenTtlSeconds?: number;
  idTokenTtlSeconds?: number;
  refreshTokenTtlSeconds?: number;
  authCodeTtlSeconds?: number;
  /** Initial clock, epoch ms. */
  now?: number;
}

export interface Emulator {
  readonly url: string;
  readonly issuer: string;
  readonly region: string;
  readonly poolId: string;
  readonly clock: { now(): number; advance(seconds: number): void; set(epochMs: number): void };
  calls(op: Operation): number;
  calls(): Record<Operation, number>;
  resetCalls(): void;
  fault(op: Operation, spec: FaultSpec): void;
  clearFaults(): void;
  refreshTokenState(refreshToken: string): RefreshState;
  addUser(user: EmulatorUser): void;
  /** Adds a client, or replaces the one with the same id. */
  addClient(client: EmulatorClient): void;
  setClientRotation(clientId: string, rotation: EmulatorClient["rotation"]): void;
  disableUser(username: string): void;
  deleteUser(username: string): void;
  close(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const region = options.region ?? "us-east-1";
  const poolId = options.poolId ?? `${region}_Emulator1`;
  const clock = createClock(options.now);
  const store = new Store(clock);
  const faults = new Faults();
  const keys = await createSigningKeys();
  const minter = new TokenMinter(keys, clock, options.accessTokenTtlSeconds ?? 3600, options.idTokenTtlSeconds ?? 3600);
  for (const user of options.users ?? []) store.addUser(user);
  for (const client of options.clients ?? []) store.addClient(client);

  const app = express();
  app.disable("x-powered-by");
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host ?? "127.0.0.1"}:${port}`;
  const issuer = `${url}/${poolId}`;
  const grants = new Grants(store, minter, clock, issuer, options.refreshTokenTtlSeconds ?? 30 * 24 * 3600);

  app.use(idpApi(store, grants, faults));
  app.use(oauthRoutes({ url, issuer, poolId, store, grants, minter, keys, clock, faults, authCodeTtlSeconds: options.authCodeTtlSeconds ?? 300 }));

  function calls(op: Operation): number;
  function calls(): Record<Operation, number>;
  function calls(op?: Operation): number | Record<Operation, number> {
    if (op) return faults.calls(op);
    return Object.fromEntries(OPERATIONS.map((o) => [o, faults.calls(o)])) as Record<Operation, number>;
  }

  return {
    url,
    issuer,
    region,
    poolId,
    clock,
    calls,
    resetCalls: () => faults.resetCalls(),
    fault: (op, spec) => faults.set(op, spec),
    clearFaults: () => faults.clear(),
    refreshTokenState: (token) => store.refreshState(token),
    addUser: (user) => store.addUser(user),
    addClient: (client) => store.addClient(client),
    setClientRotation(clientId, rotation) {
      const client = store.clients.get(clientId);
      if (!client) throw new Error(`no client ${clientId}`);
      store.addClient({ ...client, ...(rotation ? { rotation } : {}) });
    },
    disableUser(username) {
      const user = store.users.get(username);
      if (user) user.enabled = false;
    },
    deleteUser: (username) => void store.users.delete(username),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
