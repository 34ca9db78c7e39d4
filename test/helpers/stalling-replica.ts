/**
 * A BFF replica in a process of its own, for tests that freeze it with SIGSTOP the way a long GC
 * pause or a paused container would. Run with `node --import tsx test/helpers/stalling-replica.ts`,
 * configured by the environment like `src/server.ts`, plus:
 * - `BFF_TEST_CLOCK_OFFSET_MS`: added to `Date.now()`, to run on the emulator's clock after `clock.advance()`.
 * - `BFF_TEST_PAUSE_AFTER_REFRESH_MS`: once Cognito has answered a refresh, print `refresh answered` and wait
 *   this long before using the answer, so that the test can stop the process between the two.
 *
 * Prints `listening` once it serves; `GET /__metrics` answers its Prometheus metrics.
 */
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { createApp } from "../../src/app.js";
import { createCognitoGateway, type CognitoGateway } from "../../src/cognito/cognito-gateway.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { createMetrics, observeCognitoCalls } from "../../src/metrics.js";
import { createRedisClients } from "../../src/redis.js";

const config = loadConfig(process.env);
const offsetMs = Number(process.env.BFF_TEST_CLOCK_OFFSET_MS ?? 0);
const pauseMs = Number(process.env.BFF_TEST_PAUSE_AFTER_REFRESH_MS ?? 0);
const metrics = createMetrics();
const real = createCognitoGateway(config.cognito, { observe: observeCognitoCalls(metrics) });
const cognito: CognitoGateway = {
  async refreshTokens(request) {
    const answer = await real.refreshTokens(request);
    process.stdout.write("refresh answered\n");
    await sleep(pauseMs);
    return answer;
  },
  revokeToken: (token) => real.revokeToken(token),
  globalSignOut: (token) => real.globalSignOut(token),
  destroy: () => real.destroy(),
};
const redis = config.redisUrl ? createRedisClients({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix }) : undefined;
const bff = await createApp({
  config,
  cognito,
  log: createLogger({ level: "info" }),
  metrics,
  now: () => Date.now() + offsetMs,
  ...(redis ? { redis } : {}),
});
const server = createServer((req, res) => {
  if (req.url !== "/__metrics") return void bff.app(req, res);
  void metrics.registry.metrics().then((text) => res.end(text));
});
server.listen(config.port, "127.0.0.1", () => process.stdout.write("listening\n"));
