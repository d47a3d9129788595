// The forms' descriptions of Hydra's login and consent requests (src/decisions/request-ticket.ts):
// one stands in for asking Hydra again only when intact, for the same challenge and kind, and recent.
import {
  consentTicketSubset,
  issueTicket,
  loginTicketSubset,
  readConsentTicket,
  readLoginTicket,
  ticketKey,
  TICKET_MAX_AGE_MS,
} from "../../src/decisions/request-ticket";
import type { OAuth2ConsentRequest, OAuth2LoginRequest } from "@ory/hydra-client";

const key = ticketKey("first-secret-0123456789abcdef0123456789", "login");
const oldKey = ticketKey("older-secret-0123456789abcdef0123456789", "login");
const otherKey = ticketKey("someone-else-0123456789abcdef0123456789", "login");
const consentKey = ticketKey("first-secret-0123456789abcdef0123456789", "consent");
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
const consent = {
  challenge: "cc-1",
  client: { client_id: "web", client_name: "Web", scope: "openid orders.read", client_secret: "never-carried", metadata: { x: 1 } },
  request_url: "https://hydra/oauth2/auth?client_id=web",
  subject: "user-1",
  login_session_id: "ls-1",
  login_challenge: "ch-1",
  requested_scope: ["openid", "orders.read"],
  requested_access_token_audience: ["https://api"],
  oidc_context: { ui_locales: ["de"], id_token_hint_claims: { secret: 1 } },
  context: { secret: "login context" },
} as unknown as OAuth2ConsentRequest;

describe("login ticket", () => {
  const ticket = issueTicket(key, loginTicketSubset(request), now);

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
    ["the consent ticket's key", ticket, "ch-1", [consentKey], now],
    ["older than the limit", ticket, "ch-1", [key], now + TICKET_MAX_AGE_MS + 1],
    ["from the future", ticket, "ch-1", [key], now - 120_000],
    ["not JSON", `${Buffer.from("{").toString("base64url")}.${mac}`, "ch-1", [key], now],
  ] as const)("is not used: %s", (_what, t, challenge, keys, at) => {
    expect(readLoginTicket(t, challenge, keys, at)).toBeNull();
  });

  test("a ticket of a rotated-out first secret still reads while that secret is listed", () => {
    const old = issueTicket(oldKey, loginTicketSubset(request), now);
    expect(readLoginTicket(old, "ch-1", [key, oldKey], now)?.client.client_id).toBe("web");
    expect(readLoginTicket(old, "ch-1", [key], now)).toBeNull();
  });

  test("at the age limit it still reads", () => {
    expect(readLoginTicket(ticket, "ch-1", [key], now + TICKET_MAX_AGE_MS)).not.toBeNull();
  });
});

describe("consent ticket", () => {
  const ticket = issueTicket(consentKey, consentTicketSubset(consent), now);

  test("carries only what the form's post uses: no secret, no login context, no metadata", () => {
    expect(readConsentTicket(ticket, "cc-1", [consentKey], now)).toEqual({
      challenge: "cc-1",
      client: { client_id: "web", client_name: "Web", scope: "openid orders.read" },
      request_url: consent.request_url,
      subject: "user-1",
      login_session_id: "ls-1",
      requested_scope: ["openid", "orders.read"],
      requested_access_token_audience: ["https://api"],
      oidc_context: { ui_locales: ["de"] },
    });
    const text = Buffer.from(ticket.split(".")[0]!, "base64url").toString();
    for (const hidden of ["never-carried", "login context", "id_token_hint_claims", "metadata"]) expect(text).not.toContain(hidden);
  });

  test.each([
    ["another challenge", "cc-2", [consentKey]],
    ["the login ticket's key", "cc-1", [key]],
  ] as const)("is not used: %s", (_what, challenge, keys) => {
    expect(readConsentTicket(ticket, challenge, keys, now)).toBeNull();
  });

  test("a login ticket is never read as a consent ticket", () => {
    const login = issueTicket(consentKey, loginTicketSubset({ ...request, challenge: "cc-1" }), now);
    expect(readConsentTicket(login, "cc-1", [consentKey], now)).toBeNull(); // no subject list of scopes: not a consent's shape
  });
});
