import { describe, expect, it } from "vitest";
import { createTicketSealer, formatTicket, newTicket, parseTicket, userTag } from "../../src/auth/session-ticket.js";

const OLD = "old-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const NEW = "new-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const SESSION = { access_token: "at", refresh_token: "rt" };

describe("session tickets", () => {
  it("format and parse back; anything else (a cookie-mode JWE, junk) is not a ticket", () => {
    const ticket = newTicket("5b8e1f3a-2c4d-4e6f-8a9b-0c1d2e3f4a5b");
    const value = formatTicket(ticket);
    expect(value).toMatch(/^v1\.[\w-]{8}\.[\w-]{22}\.[\w-]{22}$/);
    expect(parseTicket(value)).toEqual(ticket);
    expect(ticket.tag).toBe(userTag("5b8e1f3a-2c4d-4e6f-8a9b-0c1d2e3f4a5b"));
    for (const other of ["eyJhbGciOiJkaXIifQ..a.b.c", `${value}x`, value.replace("v1.", "v2."), ""]) expect(parseTicket(other)).toBeUndefined();
  });

  it("a sealed session opens with its own ticket only: not with another ticket secret (AUTH_SECRET alone), not under another id, not tampered", () => {
    const sealer = createTicketSealer([NEW]);
    const ticket = newTicket("sub");
    const sealed = sealer.seal(SESSION, ticket);
    expect(sealed).not.toContain("rt");
    expect(sealer.open(sealed, ticket)).toEqual(SESSION);
    expect(sealer.open(sealed, { ...ticket, secret: newTicket("sub").secret })).toBeUndefined();
    expect(sealer.open(sealed, { ...ticket, id: newTicket("sub").id })).toBeUndefined();
    expect(sealer.open(`${sealed.slice(0, -4)}AAAA`, ticket)).toBeUndefined();
  });

  it("after a rotation of AUTH_SECRET the old secret still opens it (AUTH_SECRET_1..3); a secret that sealed nothing does not", () => {
    const ticket = newTicket("sub");
    const sealed = createTicketSealer([OLD]).seal(SESSION, ticket);
    expect(createTicketSealer([NEW, OLD]).open(sealed, ticket)).toEqual(SESSION);
    expect(createTicketSealer([NEW]).open(sealed, ticket)).toBeUndefined();
  });
});
