// The sign-in form's description of Hydra's login request (src/decisions/login-ticket.ts): it stands
// in for asking Hydra again only when intact, for the same challenge, and recent.
import { issueLoginTicket, LOGIN_TICKET_MAX_AGE_MS, loginTicketKey, readLoginTicket } from "../../src/decisions/login-ticket";
import type { OAuth2LoginRequest } from "@ory/hydra-client";

const key = loginTicketKey("first-secret-0123456789abcdef0123456789");
const oldKey = loginTicketKey("older-secret-0123456789abcdef0123456789");
const otherKey = loginTicketKey("someone-else-0123456789abcdef0123456789");
const now = 1_800_000_000_000;
const request = {
  challenge: "ch-1",
  client: { client_id: "web", client_name: "Web", client_secret: "never-carried", redirect_uris: ["https://x/cb"] },
  request_url: "https://hydra/oauth2/auth?client_id=web&ui_locales=de",
  session_id: "ls-1",
  skip: false,
  subject: "",
  requested_scope: ["openid"],
  requested_access_token_audience: [],
  oidc_context: { ui_locales: ["de"], login_hint: "ada@example.com", id_token_hint_claims: { secret: 1 } },
} as unknown as OAuth2LoginRequest;

describe("login ticket", () => {
  const ticket = issueLoginTicket(key, request, now);

  test("carries only what the form's post uses, and reads back for the same challenge", () => {
    expect(readLoginTicket(ticket, "ch-1", [key], now + 1000)).toEqual({
      challenge: "ch-1",
      client: { client_id: "web", client_name: "Web" },
      request_url: request.request_url,
      session_id: "ls-1",
      skip: false,
      subject: "",
      oidc_context: { ui_locales: ["de"], login_hint: "ada@example.com" },
    });
    const payload = Buffer.from(ticket.split(".")[0]!, "base64url").toString();
    expect(payload).not.toContain("never-carried");
    expect(payload).not.toContain("id_token_hint_claims");
  });

  const [payload, mac] = ticket.split(".") as [string, string];
  const forged = Buffer.from(Buffer.from(payload, "base64url").toString().replace('"web"', '"evil"')).toString("base64url");
  test.each([
    ["no ticket", undefined, "ch-1", [key], now],
    ["empty", "", "ch-1", [key], now],
    ["no MAC", payload, "ch-1", [key], now],
    ["another challenge", ticket, "ch-2", [key], now],
    ["a changed description", `${forged}.${mac}`, "ch-1", [key], now],
    ["a wrong MAC", `${payload}.${"A".repeat(43)}`, "ch-1", [key], now],
    ["another key", ticket, "ch-1", [otherKey], now],
    ["older than the limit", ticket, "ch-1", [key], now + LOGIN_TICKET_MAX_AGE_MS + 1],
    ["from the future", ticket, "ch-1", [key], now - 120_000],
    ["not JSON", `${Buffer.from("{").toString("base64url")}.${mac}`, "ch-1", [key], now],
  ] as const)("is not used: %s", (_what, t, challenge, keys, at) => {
    expect(readLoginTicket(t, challenge, keys, at)).toBeNull();
  });

  test("a ticket of a rotated-out first secret still reads while that secret is listed", () => {
    const old = issueLoginTicket(oldKey, request, now);
    expect(readLoginTicket(old, "ch-1", [key, oldKey], now)?.client.client_id).toBe("web");
    expect(readLoginTicket(old, "ch-1", [key], now)).toBeNull();
  });

  test("at the age limit it still reads", () => {
    expect(readLoginTicket(ticket, "ch-1", [key], now + LOGIN_TICKET_MAX_AGE_MS)).not.toBeNull();
  });
});
