/**
 * The pure parts of `npm run dev`: the BFF's environment built from the
 * developer's, and the banner it prints. No I/O here, so both are unit-tested
 * (`test/unit/dev-setup.test.ts`); `src/dev.ts` starts the servers.
 */

export type Env = Record<string, string | undefined>;

export interface DevEnv {
  /** The BFF's environment: the developer's, with the dev defaults filled in. */
  env: Env;
  /** The demo SPA's origin, `http://localhost:<DEMO_PORT>`. */
  demoOrigin: string;
  demoPort: number;
}

/** Unset as the configuration reads it: absent, or blank. */
function isUnset(value: string | undefined): boolean {
  return value === undefined || value.trim() === "";
}

/**
 * Fills in what `npm run dev` needs and the developer did not set:
 * `PUBLIC_URL` (from `PORT`), a per-run `AUTH_SECRET`, and `ALLOWED_ORIGINS`
 * = the demo's origin. Whatever the developer set stays exactly as it is (an
 * `ALLOWED_ORIGINS` of their own that leaves the demo out is shown in the banner).
 * @param newSecret makes the per-run `AUTH_SECRET` (dev sessions do not survive a restart).
 * @throws {Error} with NODE_ENV=production, or a DEMO_PORT that is not a port.
 */
export function buildDevEnv(source: Env, newSecret: () => string): DevEnv {
  const env: Env = { ...source };
  if (env.NODE_ENV === "production") {
    throw new Error("npm run dev is for development; use npm start in production");
  }
  const port = env.PORT?.trim() || "3000";
  // A bad PORT is left to the configuration to report; a PUBLIC_URL made from it would be a second, misleading problem.
  if (isUnset(env.PUBLIC_URL) && /^\d+$/.test(port)) env.PUBLIC_URL = `http://localhost:${Number(port)}`;
  if (isUnset(env.AUTH_SECRET)) env.AUTH_SECRET = newSecret();
  const demoPort = Number(env.DEMO_PORT?.trim() || 5173);
  if (!Number.isInteger(demoPort) || demoPort < 1 || demoPort > 65535) {
    throw new Error("DEMO_PORT: must be a whole number from 1 to 65535");
  }
  // The demo is served from `localhost` like the BFF: same site, so the SameSite=Lax session cookie goes with its calls.
  const demoOrigin = `http://localhost:${demoPort}`;
  if (isUnset(env.ALLOWED_ORIGINS)) env.ALLOWED_ORIGINS = demoOrigin;
  return { env, demoOrigin, demoPort };
}

/** What `withEmulator` needs of the built-in emulator and its demo app client. */
export interface DevEmulator {
  issuer: string;
  url: string;
  clientId: string;
  clientSecret: string | undefined;
}

/**
 * Wires the BFF to the built-in emulator, and lets sign-ins ask for its
 * emulated Google (`COGNITO_IDENTITY_PROVIDERS=Google`, what the demo's "Sign
 * in with Google" button needs) unless the developer set that list.
 */
export function withEmulator(env: Env, emulator: DevEmulator): Env {
  return {
    ...env,
    COGNITO_ISSUER: emulator.issuer,
    COGNITO_CLIENT_ID: emulator.clientId,
    COGNITO_CLIENT_SECRET: emulator.clientSecret,
    COGNITO_DOMAIN: emulator.url,
    COGNITO_ENDPOINT: emulator.url,
    ...(isUnset(env.COGNITO_IDENTITY_PROVIDERS) ? { COGNITO_IDENTITY_PROVIDERS: "Google" } : {}),
  };
}

/**
 * Routes `/api/sample/` to the sample API, unless the developer set
 * `UPSTREAMS` (then theirs is the whole list, and there is no such relay).
 */
export function withSampleUpstream(env: Env, sampleApiUrl: string): { env: Env; sampleRelayed: boolean } {
  if (!isUnset(env.UPSTREAMS)) return { env, sampleRelayed: false };
  return { env: { ...env, UPSTREAMS: JSON.stringify({ sample: { url: sampleApiUrl, token: "user" } }) }, sampleRelayed: true };
}

export interface DevBannerInfo {
  bffOrigin: string;
  demoOrigin: string;
  sampleApiUrl: string;
  /** `/api/sample/` relays to the sample API (UPSTREAMS was not the developer's own). */
  sampleRelayed: boolean;
  /** The BFF's allowed origins, as configured. */
  allowedOrigins: readonly string[];
  /** Present when the built-in emulator was started. */
  emulator?: { url: string; poolId: string; email: string; password: string; accessTokenTtlSeconds: number; google?: boolean };
}

/** What `npm run dev` prints once everything listens: only what is really there. */
export function devBanner(info: DevBannerInfo): string {
  const { bffOrigin, demoOrigin, sampleApiUrl, emulator } = info;
  const relay = info.sampleRelayed ? `also relayed as ${bffOrigin}/api/sample/` : "called directly only: your UPSTREAMS has no relay to it";
  return [
    ``,
    `cognito-bff is running in development mode.`,
    `  Demo SPA:         ${demoOrigin}/  (its own origin: sign in, watch the token count down, call the sample API)`,
    ...(info.allowedOrigins.includes(demoOrigin)
      ? []
      : [`  Note:             ALLOWED_ORIGINS does not list ${demoOrigin}, so the BFF refuses the demo's calls (403 origin_not_allowed)`]),
    `  Dev page:         ${bffOrigin}/  (same origin as the BFF: sign in, then press "GET /token")`,
    `  Token endpoint:   GET ${bffOrigin}/token  (with header X-CSRF: 1 and the session cookie)`,
    `  Sample API:       ${sampleApiUrl}  (${relay})`,
    ...(emulator
      ? [
          ``,
          `  Cognito emulator: ${emulator.url} (pool ${emulator.poolId})`,
          `  Demo user:        ${emulator.email} / ${emulator.password}`,
          ...(emulator.google ? [`  Google sign-in:   emulated by the emulator ("Sign in with Google" in the demo; any email works)`] : []),
          `  Access tokens live ${emulator.accessTokenTtlSeconds} s, so you can watch them refresh.`,
        ]
      : []),
    ``,
  ].join("\n");
}
