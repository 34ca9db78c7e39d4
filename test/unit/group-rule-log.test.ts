/**
 * A refusal by an upstream's group rule says in the log which upstream refused, and never which groups the
 * user is in (test/unit/group-rule.test.ts has the rule itself).
 */
import { UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { BffError } from "../../src/errors.js";
import { checkGroupRule } from "../../src/proxy/group-rule.js";

describe("the group rule's log line", () => {
  it("names the upstream, not the user's groups", () => {
    const token = new UnsecuredJWT({ "cognito:groups": ["interns-secret-team"] }).encode();
    let thrown: unknown;
    try {
      checkGroupRule(token, ["admins"], "ledger");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(BffError);
    expect((thrown as BffError).logDetail).toBe("upstream ledger: the access token is in none of its groups");
  });
});
