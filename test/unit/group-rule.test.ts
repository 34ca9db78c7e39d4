import { UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { BffError } from "../../src/errors.js";
import { checkGroupRule, tokenGroups } from "../../src/proxy/group-rule.js";
import { parseUpstreams } from "../../src/proxy/upstreams.js";

function problemsOf(routes: Record<string, unknown>): string[] {
  const problems: string[] = [];
  parseUpstreams(JSON.stringify(routes), problems);
  return problems;
}

const token = (claims: Record<string, unknown>) => new UnsecuredJWT(claims).encode();

describe("UPSTREAMS groups", () => {
  it("rejects groups on client and user-or-none upstreams, an empty list, and names with spaces, naming the field only", () => {
    expect(
      problemsOf({
        reports: { url: "https://r.internal", token: "client", scopes: ["r/read"], groups: ["admins"] },
        catalog: { url: "https://c.internal", token: "user-or-none", groups: ["admins"] },
        empty: { url: "https://e.internal", token: "user", groups: [] },
        spaced: { url: "https://s.internal", token: "user", groups: ["secret group"] },
        notalist: { url: "https://n.internal", token: "user", groups: "admins" },
      }),
    ).toEqual([
      "UPSTREAMS.reports.groups: applies only to token user (the token sent must be the signed-in user's)",
      "UPSTREAMS.catalog.groups: applies only to token user (the token sent must be the signed-in user's)",
      "UPSTREAMS.empty.groups: must list at least one group (leave it out for no group rule)",
      "UPSTREAMS.spaced.groups: must be Cognito group names (1-128 characters, no spaces)",
      "UPSTREAMS.notalist.groups: must be a list of Cognito group names",
    ]);
  });

  it("keeps the groups of a user upstream, without duplicates, and none when left out", () => {
    const problems: string[] = [];
    const upstreams = parseUpstreams(
      JSON.stringify({ ledger: { url: "https://l.internal", token: "user", groups: ["admins", "Finanzen-Ä", "admins"] }, open: { url: "https://o.internal", token: "user" } }),
      problems,
    );
    expect(problems).toEqual([]);
    expect(upstreams.ledger!.groups).toEqual(["admins", "Finanzen-Ä"]);
    expect(upstreams.open!.groups).toBeUndefined();
  });
});

describe("the group rule", () => {
  it("reads cognito:groups; a token without it, with a non-list, or that is not a JWT has no groups", () => {
    expect(tokenGroups(token({ "cognito:groups": ["a", 7, "b"] }))).toEqual(["a", "b"]);
    expect(tokenGroups(token({}))).toEqual([]);
    expect(tokenGroups(token({ "cognito:groups": "a" }))).toEqual([]);
    expect(tokenGroups("not-a-jwt")).toEqual([]);
  });

  it("passes with one matching group or no rule, and throws insufficient_group otherwise", () => {
    expect(() => checkGroupRule(token({ "cognito:groups": ["finance"] }), ["admins", "finance"], "ledger")).not.toThrow();
    expect(() => checkGroupRule(token({}), undefined, "ledger")).not.toThrow();
    for (const claims of [{}, { "cognito:groups": ["Finance"] }, { "cognito:groups": [] }]) {
      let thrown: unknown;
      try {
        checkGroupRule(token(claims), ["admins", "finance"], "ledger");
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(BffError);
      expect((thrown as BffError).code).toBe("insufficient_group");
      expect((thrown as BffError).status).toBe(403);
    }
  });
});
