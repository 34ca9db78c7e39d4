/**
 * What `GET /auth/sessions` shows of a device: a short browser and system name from its User-Agent, never the
 * raw header (it is the client's to write, and ends up in a page).
 */
import { describe, expect, it } from "vitest";
import { summarizeUserAgent } from "../../src/auth/redis-session-store.js";

describe("the device shown for a session", () => {
  it.each([
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome 120 on Windows"],
    ["Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121 on Linux"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "Safari 605 on macOS"],
    ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari 604 on iPhone"],
    ["Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1", "Safari 604 on iPad"],
    ["Mozilla/5.0 (Mac OS X) Firefox/120", "Firefox 120 on macOS"],
    ["Mozilla/5.0 (Android 14) Firefox/121", "Firefox 121 on Android"],
    ["Edg/120 (Windows)", "Edge 120 on Windows"],
    ["OPR/105 (Windows)", "Opera 105 on Windows"],
  ])("%s is shown as %s", (userAgent, shown) => {
    expect(summarizeUserAgent(userAgent)).toBe(shown);
  });

  it("an unknown client is shown by its own name, cut to 40 characters, without markup", () => {
    expect(summarizeUserAgent("curl/8.4.0")).toBe("curl/8.4.0");
    expect(summarizeUserAgent('<script>alert("x")</script>')).toBe("scriptalert(x)/script");
    expect(summarizeUserAgent("a".repeat(100))).toBe("a".repeat(40));
  });

  it("no User-Agent shows nothing", () => {
    expect(summarizeUserAgent(undefined)).toBeUndefined();
    expect(summarizeUserAgent("")).toBeUndefined();
  });
});
