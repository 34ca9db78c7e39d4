/**
 * The path a relayed call asks the upstream for: the upstream's base path, the client's path (rewritten when
 * configured) and the query, never `""` (an HTTP request line needs a path) and never one that climbs out of
 * the base path, whether the client wrote the dot segment or the rewrite made it.
 * @see https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4 (remove_dot_segments)
 * @see https://www.rfc-editor.org/rfc/rfc9112#section-3.2.1 (origin-form: an absolute path, at least "/")
 */
import { describe, expect, it } from "vitest";
import { BffError } from "../../src/errors.js";
import { parseUpstreams } from "../../src/proxy/upstreams.js";
import { hasDotSegment, upstreamPath } from "../../src/routes/proxy.js";

function upstream(config: Record<string, unknown>) {
  const problems: string[] = [];
  const parsed = parseUpstreams(JSON.stringify({ u: { token: "user", ...config } }), problems);
  expect(problems).toEqual([]);
  return parsed.u!;
}

const root = upstream({ url: "https://root.internal" });
const based = upstream({ url: "https://based.internal/base/" });

function refusal(run: () => unknown): BffError {
  try {
    run();
  } catch (error) {
    if (error instanceof BffError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("the upstream path", () => {
  it.each([
    [root, "", "", "/"],
    [root, "", "?q=1", "/?q=1"],
    [root, "/a", "", "/a"],
    [root, "/", "", "/"],
    [based, "", "", "/base"],
    [based, "", "?q=1", "/base?q=1"],
    [based, "/a/b", "?q=1", "/base/a/b?q=1"],
  ])("%# joins the base path, the path and the query", (u, rest, query, expected) => {
    expect(upstreamPath(u, rest, query)).toBe(expected);
  });

  it("a rewrite that leaves no leading slash gets one; one that leaves nothing asks for the base path", () => {
    expect(upstreamPath(upstream({ url: "https://x.internal/base", rewrite: { from: "^/v1/", to: "" } }), "/v1/items", "")).toBe("/base/items");
    expect(upstreamPath(upstream({ url: "https://x.internal", rewrite: { from: "^/v1$", to: "" } }), "/v1", "?a")).toBe("/?a");
  });

  it("a rewrite that creates a .. segment is refused, though the client's path had none", () => {
    const climbing = upstream({ url: "https://x.internal/base", rewrite: { from: "^/up/", to: "/../" } });
    const error = refusal(() => upstreamPath(climbing, "/up/admin", ""));
    expect(error.code).toBe("invalid_request");
    expect(error.status).toBe(400);
    expect(error.description).toBe("The path must not contain . or .. segments.");
    const encoded = upstream({ url: "https://x.internal/base", rewrite: { from: "^/up", to: "%2e%2e" } });
    expect(refusal(() => upstreamPath(encoded, "/up/admin", "")).code).toBe("invalid_request");
  });

  it("a client's .. segment is refused even when the rewrite would remove it", () => {
    const hiding = upstream({ url: "https://x.internal/base", rewrite: { from: "/\\.\\./", to: "/" } });
    expect(refusal(() => upstreamPath(hiding, "/a/../admin", "")).code).toBe("invalid_request");
  });

  it("a dot segment at the very start of a path counts too; a lone % with one hex digit is left as it is", () => {
    for (const p of ["..", ".", "../x", "./x", "%2e%2e/x"]) expect(hasDotSegment(p), p).toBe(true);
    for (const p of ["/a%2g/b", "/a%2", "/%%2e"]) expect(hasDotSegment(p), p).toBe(false);
  });

  it("dots in a query are the query's business", () => {
    expect(upstreamPath(root, "/a", "?next=/../x")).toBe("/a?next=/../x");
  });
});
