/**
 * cognito-local (npm `cognito-local`, the Cognito emulator many Node teams
 * use) as published: started from node_modules as a child process on a free
 * port of 127.0.0.1, with a temporary folder of its own as working directory
 * (it keeps its config and data in `./.cognito`), and set up through the AWS
 * SDK against its endpoint like a real user pool.
 *
 * Nothing here prints a secret: the child's output is kept in memory and shown
 * only when it fails to start (before any client or user exists).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { freePort } from "./harness.js";

const START_TIMEOUT_MS = 15_000;
const OUTPUT_CHUNKS_KEPT = 40;

export interface CognitoLocalUser {
  email: string;
  password: string;
  /** The Cognito username: a UUID (the pool uses email as username, like most real pools). */
  username: string;
  sub: string;
}

export interface CognitoLocalClient {
  clientId: string;
  clientSecret: string | undefined;
}

export interface CognitoLocalClientOptions {
  callbackUrls: string[];
  logoutUrls?: string[];
  /** Default true (the BFF's usual confidential client). */
  generateSecret?: boolean;
  /** Access token lifetime in minutes. Default 60, like Cognito's; cognito-local's own default is 24 h. */
  accessTokenMinutes?: number;
}

export interface CognitoLocal {
  /** `http://127.0.0.1:<port>`: the API endpoint, the Hosted UI domain and the issuer's origin at once. */
  url: string;
  poolId: string;
  /** `${url}/${poolId}`: the `iss` of its tokens. */
  issuer: string;
  /** An SDK client on its endpoint (admin calls; cognito-local checks no credentials). */
  sdk: CognitoIdentityProviderClient;
  /** An app client of the pool with OAuth code flow. */
  createClient(options: CognitoLocalClientOptions): Promise<CognitoLocalClient>;
  /** A confirmed user with a permanent password and a verified email. */
  createUser(email: string, password: string): Promise<CognitoLocalUser>;
  /** The last of the child's output (for a failure message; may hold codes it "sent"). */
  output(): string;
  close(): Promise<void>;
}

function startScript(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("cognito-local/package.json")), "lib/bin/start.js");
}

async function waitUntilUp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const until = Date.now() + START_TIMEOUT_MS;
  let exited: string | undefined;
  child.once("exit", (code, signal) => (exited = `exited (${code ?? signal})`));
  for (;;) {
    if (exited) throw new Error(`cognito-local ${exited} before answering:\n${output()}`);
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
      await response.body?.cancel();
    } catch {
      // Not listening yet.
    }
    if (Date.now() > until) throw new Error(`cognito-local did not answer within ${START_TIMEOUT_MS} ms:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts cognito-local with one user pool (email as username); close() stops it and removes its folder. */
export async function startCognitoLocal(): Promise<CognitoLocal> {
  const dir = await mkdtemp(join(tmpdir(), "cognito-local-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const lines: string[] = [];
  const output = () => lines.join("");
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: "127.0.0.1" };
  // Its debug log prints refresh tokens; dev mode prints request bodies.
  delete env.DEBUG;
  delete env.COGNITO_LOCAL_DEVMODE;
  const child = spawn(process.execPath, [startScript()], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  // Always read its output: a child whose pipe fills stops answering.
  const keep = (chunk: Buffer) => {
    lines.push(chunk.toString("utf8"));
    if (lines.length > OUTPUT_CHUNKS_KEPT) lines.shift();
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(killer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const sdk = new CognitoIdentityProviderClient({
    region: "us-east-1",
    endpoint: url,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  try {
    await waitUntilUp(url, child, output);
    const pool = await sdk.send(new CreateUserPoolCommand({ PoolName: "cognito-bff-test", UsernameAttributes: ["email"] }));
    const poolId = pool.UserPool!.Id!;

    return {
      url,
      poolId,
      issuer: `${url}/${poolId}`,
      sdk,
      async createClient({ callbackUrls, logoutUrls = [], generateSecret = true, accessTokenMinutes = 60 }) {
        const created = await sdk.send(
          new CreateUserPoolClientCommand({
            UserPoolId: poolId,
            ClientName: "cognito-bff",
            GenerateSecret: generateSecret,
            AllowedOAuthFlows: ["code"],
            AllowedOAuthFlowsUserPoolClient: true,
            AllowedOAuthScopes: ["openid", "email", "profile"],
            SupportedIdentityProviders: ["COGNITO"],
            CallbackURLs: callbackUrls,
            LogoutURLs: logoutUrls,
            ExplicitAuthFlows: ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
            EnableTokenRevocation: true,
            AccessTokenValidity: accessTokenMinutes,
            IdTokenValidity: accessTokenMinutes,
            TokenValidityUnits: { AccessToken: "minutes", IdToken: "minutes", RefreshToken: "days" },
          }),
        );
        return { clientId: created.UserPoolClient!.ClientId!, clientSecret: created.UserPoolClient!.ClientSecret };
      },
      async createUser(email, password) {
        const created = await sdk.send(
          new AdminCreateUserCommand({
            UserPoolId: poolId,
            Username: email,
            MessageAction: "SUPPRESS",
            UserAttributes: [
              { Name: "email", Value: email },
              { Name: "email_verified", Value: "true" },
            ],
          }),
        );
        await sdk.send(new AdminSetUserPasswordCommand({ UserPoolId: poolId, Username: email, Password: password, Permanent: true }));
        const user = created.User!;
        const sub = user.Attributes?.find((a) => a.Name === "sub")?.Value;
        if (!user.Username || !sub) throw new Error("cognito-local created a user without username or sub");
        return { email, password, username: user.Username, sub };
      },
      output,
      async close() {
        sdk.destroy();
        await stop();
      },
    };
  } catch (error) {
    sdk.destroy();
    await stop();
    throw error;
  }
}
