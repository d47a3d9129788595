// Hydra's description of a login request, carried in the sign-in form (issue #12): GET /login asked
// Hydra for it to show the page; the form's post would ask again only to learn the same things
// (client, login session, request URL, ui_locales, login_hint). The page puts what the post needs
// into a hidden field, with an HMAC over it and the challenge it belongs to, so that the post
// skips one call to Hydra's admin API. It proves nothing about the person or the browser: it is
// Hydra's own answer, unchangeable without the key, for this challenge only, and only for a while
// (an older one, a forged one or none: the post asks Hydra as before). Hydra still refuses an
// expired or unknown challenge when the login is accepted. Pure functions: keys and time are passed in.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { OAuth2LoginRequest } from "@ory/hydra-client";

/** How long a page's description stands in for Hydra's answer (the login request lives 30 minutes: hydra.yml). */
export const LOGIN_TICKET_MAX_AGE_MS = 10 * 60 * 1000;

/** The parts of Hydra's login request the sign-in form's post uses. */
export type TicketedLoginRequest = Pick<OAuth2LoginRequest, "challenge" | "request_url" | "session_id" | "skip" | "subject"> & {
  client: Pick<OAuth2LoginRequest["client"], "client_id" | "client_name">;
  oidc_context?: Pick<NonNullable<OAuth2LoginRequest["oidc_context"]>, "ui_locales" | "login_hint">;
};

export function loginTicketKey(secret: string): Buffer {
  return createHmac("sha256", secret).update("login-ticket/v1").digest();
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac("sha256", key).update(payload).digest();
}

/** The hidden field's value for this login request, issued at `now` (ms). */
export function issueLoginTicket(key: Buffer, request: OAuth2LoginRequest, now: number): string {
  const subset: TicketedLoginRequest = {
    challenge: request.challenge,
    client: { client_id: request.client.client_id, client_name: request.client.client_name },
    request_url: request.request_url,
    session_id: request.session_id,
    skip: request.skip,
    subject: request.subject,
    ...(request.oidc_context ? { oidc_context: { ui_locales: request.oidc_context.ui_locales, login_hint: request.oidc_context.login_hint } } : {}),
  };
  const payload = Buffer.from(JSON.stringify({ t: now, r: subset })).toString("base64url");
  return `${payload}.${mac(key, payload).toString("base64url")}`;
}

/**
 * The login request the ticket describes, when it is intact (any of `keys`: rotation), for exactly
 * this challenge and not older than LOGIN_TICKET_MAX_AGE_MS; otherwise null (ask Hydra).
 */
export function readLoginTicket(ticket: string | undefined, challenge: string, keys: readonly Buffer[], now: number): TicketedLoginRequest | null {
  if (!ticket) return null;
  const dot = ticket.indexOf(".");
  if (dot <= 0) return null;
  const payload = ticket.slice(0, dot);
  const given = Buffer.from(ticket.slice(dot + 1), "base64url");
  if (!keys.some((k) => { const want = mac(k, payload); return given.length === want.length && timingSafeEqual(given, want); })) return null;
  try {
    const { t, r } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { t: unknown; r: TicketedLoginRequest };
    if (typeof t !== "number" || now - t > LOGIN_TICKET_MAX_AGE_MS || t - now > 60_000) return null;
    if (!r || r.challenge !== challenge || typeof r.client?.client_id !== "string" || typeof r.request_url !== "string") return null;
    return r;
  } catch {
    return null;
  }
}
