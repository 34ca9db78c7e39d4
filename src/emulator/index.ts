/**
 * A Cognito user pool emulator for `npm run dev` and the tests: the Hosted UI
 * and OAuth/OIDC endpoints, and the JSON API operations a BFF uses, with
 * Cognito's claims, errors, SECRET_HASH and refresh-token rotation. Its clock,
 * call counters and fault injection are for tests. Never loaded in production.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { importJWK, jwtVerify } from "jose";
import { createClock } from "./clock.js";
import { Faults, OPERATIONS, type FaultSpec, type Operation } from "./faults.js";
import { DEFAULT_GOOGLE_ACCOUNT, type GoogleAccount } from "./federation.js";
import { Grants } from "./grants.js";
import { idpApi } from "./idp-api.js";
import { oauthRoutes } from "./oauth-routes.js";
import { Store, type FederatedIdentity, type RefreshState } from "./store.js";
import { createSigningKeys, TokenMinter } from "./tokens.js";
import { DEFAULT_VARIANTS, type Variants } from "./variants.js";

export { computeSecretHash } from "./secrets.js";
export type { FaultSpec, FederatedIdentity, GoogleAccount, Operation, RefreshState, Variants };

export interface EmulatorUser {
  /** cognito:username; a UUID in email-as-username pools, equal to sub. */
  username: string;
  sub?: string;
  email: string;
  password: string;
  emailVerified?: boolean;
  groups?: string[];
  attributes?: Record<string, string>;
  /** A federated user's linked identities (the `identities` attribute); pool users have none. */
  identities?: FederatedIdentity[];
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
  /** `EnableTokenRevocation` of the app client; default true, as for clients created since 2021. */
  tokenRevocation?: boolean;
  /** `SupportedIdentityProviders` of the app client: `COGNITO` and/or `Google`; default `["COGNITO"]`. */
  supportedIdentityProviders?: string[];
}

export interface EmulatorOptions {
  /** 0 (default): a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default us-east-1. */
  region?: string;
  /** Default `<region>_Emulator1`. */
  poolId?: string;
  users?: EmulatorUser[];
  clients?: EmulatorClient[];
  /** Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Default 3600. */
  idTokenTtlSeconds?: number;
  /** Default 30 days, Cognito's default. */
  refreshTokenTtlSeconds?: number;
  /** Default 300: Cognito's codes live five minutes. */
  authCodeTtlSeconds?: number;
  /** Initial clock, epoch ms; default Date.now(). */
  now?: number;
  /** Which of Cognito's (or cognito-local's) answers to give where there are several; see variants.ts. */
  variants?: Partial<Variants>;
  /**
   * Accounts of the emulated Google (`identity_provider=Google`); the first is
   * offered when the sign-in has no `login_hint`, and any other email works too.
   * Default: one demo account.
   */
  googleAccounts?: GoogleAccount[];
}

export interface Emulator {
  readonly url: string;
  readonly issuer: string;
  readonly region: string;
  readonly poolId: string;
  /** The emulator's clock: every iat, exp and expiry decision reads it. */
  readonly clock: { now(): number; advance(seconds: number): void; set(epochMs: number): void };
  /** Requests per operation since start or resetCalls(), failed and faulted ones included. */
  calls(op: Operation): number;
  calls(): Record<Operation, number>;
  resetCalls(): void;
  /** Applies `spec` to the next `spec.times` calls of `op` (default: until clearFaults()); replaces a pending fault of `op`. */
  fault(op: Operation, spec: FaultSpec): void;
  clearFaults(): void;
  /** Switches some of the answers where Cognito has several (see variants.ts), from the next request on. */
  setVariants(variants: Partial<Variants>): void;
  /** What a test needs to assert on revocation and rotation. */
  refreshTokenState(refreshToken: string): RefreshState;
  addUser(user: EmulatorUser): void;
  /** Adds a client, or replaces the one with the same id. */
  addClient(client: EmulatorClient): void;
  /** Turns rotation on or off (undefined: off) for later refreshes; throws for an unknown client. */
  setClientRotation(clientId: string, rotation: EmulatorClient["rotation"]): void;
  /** Like AdminDisableUser: sign-in and refresh fail with "User is disabled.". */
  disableUser(username: string): void;
  /** Like AdminDeleteUser: refresh fails with UserNotFoundException. */
  deleteUser(username: string): void;
  /**
   * Like AdminAddUserToGroup/AdminRemoveUserFromGroup: the user's groups from now on. Tokens issued later (a
   * refresh included) carry them in `cognito:groups`; tokens already issued keep theirs. Throws for an unknown user.
   */
  setUserGroups(username: string, groups: string[]): void;
  close(): Promise<void>;
}

/**
 * Starts an emulator listening on `host:port`. Its `url` is both the Hosted UI
 * domain and the JSON API endpoint; `issuer` is `${url}/${poolId}`.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const region = options.region ?? "us-east-1";
  const poolId = options.poolId ?? `${region}_Emulator1`;
  const clock = createClock(options.now);
  const store = new Store(clock);
  const faults = new Faults();
  const variants: Variants = { ...DEFAULT_VARIANTS, ...options.variants };
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

  app.use((_req, res, next) => {
    res.setHeader("x-amzn-RequestId", randomUUID());
    next();
  });
  const verifyAccessToken = async (token: string) => {
    const { payload } = await jwtVerify(token, await importJWK(keys.publicJwk, "RS256"), { issuer, currentDate: new Date(clock.now()) });
    return payload as Record<string, unknown>;
  };
  app.use(idpApi(store, grants, faults, variants, verifyAccessToken));
  app.use(
    oauthRoutes({
      url, issuer, poolId, store, grants, minter, keys, clock, faults, variants,
      authCodeTtlSeconds: options.authCodeTtlSeconds ?? 300,
      googleAccounts: options.googleAccounts ?? [DEFAULT_GOOGLE_ACCOUNT],
    }),
  );
  // Silent: the emulator runs inside tests; an unexpected error is a 500, never a stack trace on stderr.
  app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!res.headersSent) res.status(500).json({ error: "server_error" });
  });

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
    setVariants: (changes) => void Object.assign(variants, changes),
    refreshTokenState: (token) => store.refreshState(token),
    addUser: (user) => store.addUser(user),
    addClient: (client) => store.addClient(client),
    setClientRotation(clientId, rotation) {
      const client = store.clients.get(clientId);
      if (!client) throw new Error(`no client ${clientId}`);
      const { rotation: _previous, ...rest } = client;
      store.addClient(rotation ? { ...rest, rotation } : rest);
    },
    disableUser(username) {
      const user = store.users.get(username);
      if (user) user.enabled = false;
    },
    deleteUser: (username) => void store.users.delete(username),
    setUserGroups(username, groups) {
      const user = store.users.get(username);
      if (!user) throw new Error(`no user ${username}`);
      user.groups = [...groups];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
