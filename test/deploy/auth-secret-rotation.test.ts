/**
 * README "Kubernetes" rotates AUTH_SECRET in two rolling updates, because
 * during a rollout old and new pods serve the same users: first every pod
 * learns to read the new secret (the old one still seals), then the new one
 * seals. Here real replicas with each step's Secret serve one browser's
 * session side by side, as they do during each rollout.
 */
import { afterEach, describe, expect, it } from "vitest";
import { callToken, replay, signIn, startHarness, TEST_SECRET, type Harness } from "../helpers/harness.js";

const OLD = TEST_SECRET;
const NEW = "the-next-session-secret-Zq8w3LmR0tY6uK2pX9";

/** The Secret's session keys at each step, as README "Kubernetes" lists them. */
const STEPS = {
  before: { AUTH_SECRET: OLD },
  /** Rollout 1: the new secret is read everywhere; the highest-numbered one set, the old one, still seals. */
  readNew: { AUTH_SECRET: NEW, AUTH_SECRET_1: OLD },
  /** Rollout 2: swapped, so the new secret seals and the old one is still read. */
  sealNew: { AUTH_SECRET: OLD, AUTH_SECRET_1: NEW },
  /** Once SESSION_MAX_AGE_SECONDS has passed: the new secret alone. */
  after: { AUTH_SECRET: NEW },
};

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe.each(["cookie", "redis"])("rotating AUTH_SECRET with SESSION_STORE=%s", (store) => {
  it("in two rollouts signs nobody out while pods of consecutive steps serve the same session, and skipping the first would", async () => {
    h = await startHarness({ redisUrl: "redis://127.0.0.1:6379", env: { SESSION_STORE: store, ...STEPS.before }, emulator: { accessTokenTtlSeconds: 3600 } });
    const before = h.bff;
    const jar = await signIn(before.url);
    const statusOn = async (replica: { url: string }) => (await replay(replica, jar.header())).status;
    /** An expired access token: the replica refreshes it and writes the session again, sealed with its first secret. */
    const rewriteOn = async (replica: { url: string }) => {
      h!.emu.clock.advance(3600);
      return (await callToken(jar, replica.url)).status;
    };

    const readNew = await h.startBff(STEPS.readNew);
    expect(await rewriteOn(readNew)).toBe(200);
    expect(await statusOn(before)).toBe(200);

    const sealNew = await h.startBff(STEPS.sealNew);
    expect(await rewriteOn(sealNew)).toBe(200);
    expect(await statusOn(readNew)).toBe(200);

    const after = await h.startBff(STEPS.after);
    expect(await statusOn(after)).toBe(200);
    expect(await rewriteOn(after)).toBe(200);
    expect(await statusOn(sealNew)).toBe(200);

    // Without the first rollout: a pod that knows only the old secret cannot read what the new one sealed.
    expect(await statusOn(before)).toBe(401);
  });
});
