// Hydra's description of a login or consent request, carried in the step's form: the
// page asked Hydra for it; the form's post would ask again only to learn the same things. The page
// puts what the post needs into a hidden field (`login_ticket`, `consent_ticket`), with an HMAC over
// it and the challenge it belongs to, so that the post skips one call to Hydra's admin API. It
// proves nothing about the person or the browser: it is Hydra's own answer, unchangeable without
// the key, for this challenge and this kind of step only, and only for a while (an older one, a
// forged one or none: the post asks Hydra as before). Hydra still refuses an expired or unknown
// challenge when the step is answered. Pure functions: keys and time are passed in.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { OAuth2ConsentRequest, OAuth2LoginRequest } from "@ory/hydra-client";

/** How long a page's description stands in for Hydra's answer (requests live 30 minutes: hydra.yml). */
export const TICKET_MAX_AGE_MS = 10 * 60 * 1000;

export type TicketKind = "login" | "consent";

/** The parts of Hydra's login request the sign-in form's post uses. */
export type TicketedLoginRequest = Pick<OAuth2LoginRequest, "challenge" | "request_url" | "session_id" | "skip" | "subject"> & {
  client: Pick<OAuth2LoginRequest["client"], "client_id" | "client_name">;
  oidc_context?: Pick<NonNullable<OAuth2LoginRequest["oidc_context"]>, "ui_locales" | "login_hint" | "acr_values">;
};

/** The parts of Hydra's consent request the consent form's post uses. */
export type TicketedConsentRequest = Pick<OAuth2ConsentRequest, "challenge" | "request_url" | "subject" | "login_session_id" | "requested_scope" | "requested_access_token_audience"> & {
  client?: Pick<NonNullable<OAuth2ConsentRequest["client"]>, "client_id" | "client_name" | "scope">;
  oidc_context?: Pick<NonNullable<OAuth2ConsentRequest["oidc_context"]>, "ui_locales">;
};

export function loginTicketSubset(r: TicketedLoginRequest): TicketedLoginRequest {
  return {
    challenge: r.challenge,
    client: { client_id: r.client.client_id, client_name: r.client.client_name },
    request_url: r.request_url,
    session_id: r.session_id,
    skip: r.skip,
    subject: r.subject,
    ...(r.oidc_context ? { oidc_context: { ui_locales: r.oidc_context.ui_locales, login_hint: r.oidc_context.login_hint, acr_values: r.oidc_context.acr_values } } : {}),
  };
}

export function consentTicketSubset(r: TicketedConsentRequest): TicketedConsentRequest {
  return {
    challenge: r.challenge,
    ...(r.client ? { client: { client_id: r.client.client_id, client_name: r.client.client_name, scope: r.client.scope } } : {}),
    request_url: r.request_url,
    subject: r.subject,
    login_session_id: r.login_session_id,
    requested_scope: r.requested_scope,
    requested_access_token_audience: r.requested_access_token_audience,
    ...(r.oidc_context ? { oidc_context: { ui_locales: r.oidc_context.ui_locales } } : {}),
  };
}

/** The key of one kind of ticket, from one of SESSION_SECRETS. */
export function ticketKey(secret: string, kind: TicketKind): Buffer {
  return createHmac("sha256", secret).update(`${kind}-ticket/v1`).digest();
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac("sha256", key).update(payload).digest();
}

/** The hidden field's value for a request's description (a subset above), issued at `now` (ms). */
export function issueTicket(key: Buffer, subset: { challenge: string }, now: number): string {
  const payload = Buffer.from(JSON.stringify({ t: now, r: subset })).toString("base64url");
  return `${payload}.${mac(key, payload).toString("base64url")}`;
}

/**
 * The description the ticket carries, when it is intact (any of `keys`: rotation), for exactly this
 * challenge, not older than TICKET_MAX_AGE_MS and of the expected shape; otherwise null (ask Hydra).
 */
function readTicket(ticket: string | undefined, challenge: string, keys: readonly Buffer[], now: number): Record<string, unknown> | null {
  if (!ticket) return null;
  const dot = ticket.indexOf(".");
  if (dot <= 0) return null;
  const payload = ticket.slice(0, dot);
  const given = Buffer.from(ticket.slice(dot + 1), "base64url");
  if (!keys.some((k) => { const want = mac(k, payload); return given.length === want.length && timingSafeEqual(given, want); })) return null;
  try {
    const { t, r } = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { t: unknown; r: Record<string, unknown> | null };
    if (typeof t !== "number" || now - t > TICKET_MAX_AGE_MS || t - now > 60_000) return null;
    if (!r || typeof r !== "object" || r.challenge !== challenge || typeof r.request_url !== "string") return null;
    return r;
  } catch {
    return null;
  }
}

export function readLoginTicket(ticket: string | undefined, challenge: string, keys: readonly Buffer[], now: number): TicketedLoginRequest | null {
  const r = readTicket(ticket, challenge, keys, now) as TicketedLoginRequest | null;
  return r && typeof r.client?.client_id === "string" ? r : null;
}

export function readConsentTicket(ticket: string | undefined, challenge: string, keys: readonly Buffer[], now: number): TicketedConsentRequest | null {
  const r = readTicket(ticket, challenge, keys, now) as TicketedConsentRequest | null;
  return r && typeof r.subject === "string" && Array.isArray(r.requested_scope) ? r : null;
}
