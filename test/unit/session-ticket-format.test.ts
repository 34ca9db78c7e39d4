/**
 * The ticket cookie and the sealed session in Redis are a stored format: a session written by this release
 * must open after the next one is deployed. A value sealed once (2026-12, format v1) is kept here and must
 * keep opening with its ticket and secret, and only with them.
 */
import { describe, expect, it } from "vitest";
import { createTicketSealer, formatTicket, newTicket, parseTicket, userTag } from "../../src/auth/session-ticket.js";

const SECRET = "golden-secret-0123456789abcdefghijklmnop";
const SUB = "5b8e1f3a-2c4d-4e6f-8a9b-0c1d2e3f4a5b";
const TICKET = "v1.YUCcyQD3.AAECAwQFBgcICQoLDA0ODw.EBESExQVFhcYGRobHB0eHw";
const SEALED = "3VESeVi0fZiJZ8_QnfE1gs-4xQattVoOIVBac0l9Eenulfzql8wCvnN-FartB-4I5QbI-zC9RBSGha1z0aVWYraoI7Oi2Q";

describe("ticket format v1", () => {
  it("a session sealed by an earlier release opens with its ticket", () => {
    const ticket = parseTicket(TICKET)!;
    expect(ticket).toEqual({ tag: "YUCcyQD3", id: "AAECAwQFBgcICQoLDA0ODw", secret: "EBESExQVFhcYGRobHB0eHw" });
    expect(formatTicket(ticket)).toBe(TICKET);
    expect(createTicketSealer([SECRET]).open(SEALED, ticket)).toEqual({ access_token: "at", refresh_token: "rt" });
    // As the second, older secret of a rotation too.
    expect(createTicketSealer(["a-newer-secret-0123456789abcdefghijklmno", SECRET]).open(SEALED, ticket)).toEqual({ access_token: "at", refresh_token: "rt" });
  });

  it("it does not open under another tag, id or secret of the ticket, nor with another AUTH_SECRET", () => {
    const ticket = parseTicket(TICKET)!;
    const sealer = createTicketSealer([SECRET]);
    expect(sealer.open(SEALED, { ...ticket, tag: "AAAAAAAA" })).toBeUndefined();
    expect(sealer.open(SEALED, { ...ticket, id: "AAECAwQFBgcICQoLDA0OAA" })).toBeUndefined();
    expect(sealer.open(SEALED, { ...ticket, secret: "EBESExQVFhcYGRobHB0eAA" })).toBeUndefined();
    expect(createTicketSealer(["another-secret-0123456789abcdefghijklmnop"]).open(SEALED, ticket)).toBeUndefined();
  });

  it("the tag is the first 8 base64url characters of SHA-256(sub)", () => {
    expect(userTag(SUB)).toBe("YUCcyQD3");
    expect(userTag("another-sub")).not.toBe("YUCcyQD3");
  });

  it("a new ticket has the user's tag and 128 random bits each of id and secret", () => {
    const a = newTicket(SUB);
    const b = newTicket(SUB);
    expect(a.tag).toBe("YUCcyQD3");
    for (const part of [a.id, a.secret, b.id, b.secret]) expect(Buffer.from(part, "base64url")).toHaveLength(16);
    expect(new Set([a.id, a.secret, b.id, b.secret]).size).toBe(4);
  });

  it.each([
    `x${TICKET}`,
    `${TICKET}x`,
    TICKET.replace("v1.", "v2."),
    TICKET.replace("YUCcyQD3", "YUCcyQD"),
    TICKET.replace("YUCcyQD3", "YUCcyQD3A"),
    TICKET.replace("YUCcyQD3", "YUCc+QD3"),
    TICKET.replace("AAECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0OD"),
    TICKET.replace("EBESExQVFhcYGRobHB0eHw", "EBESExQVFhcYGRobHB0eHwA"),
    TICKET.replace("EBESExQVFhcYGRobHB0eHw", "EBESExQVFhcYGRobHB0e/w"),
    TICKET.replaceAll(".", "_"),
  ])("%s is not a ticket", (value) => {
    expect(parseTicket(value)).toBeUndefined();
  });
});
