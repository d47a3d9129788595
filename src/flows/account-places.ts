// /account's "Where you're signed in" (each sign-in's browser, network, when, and "this browser")
// with "End this session", and "Recent activity" (the account's events and consent history).
// Ending a place revokes Hydra's login session behind it by its id, then deletes the place and its
// app session in one statement; ending this browser's is this browser's own sign-out.
import { ACTIVITY_KINDS, activityPage, ACTIVITY_PAGE_SIZE, browserWords, type ActivityKind } from "../decisions/activity";
import { nameBrowser } from "../decisions/sign-in-place";
import { AppError } from "../errors";
import { msg, type Msg } from "../i18n";
import type { Logger } from "../logger";
import type { Hydra } from "../services/hydra";
import type { Store } from "../services/store";
import { logActivity } from "./activity";
import type { Outcome } from "./outcome";

export interface PlacesDeps {
  store: Pick<Store, "listAccountSessions" | "listActivity" | "getAccountSession" | "endAccountSession">;
  hydra: Pick<Hydra, "revokeLoginSession">;
  logger: Pick<Logger, "info">;
}

/** One place the person is signed in, as the page shows it. */
export interface PlaceItem {
  id: string;
  browser: Msg;
  network: string;
  signedInAt: Date;
  lastSeenAt: Date;
  thisBrowser: boolean;
  remembered: boolean;
}

/** One event of the activity list. */
export interface ActivityItem {
  at: Date;
  what: Msg;
  browser: Msg | null;
  network: string | null;
}

const str = (v: unknown) => (typeof v === "string" ? v : "");

/** The words of one stored event (an unknown kind, from a newer version, reads as "a change"). */
export function describeEvent(kind: string, detail: Record<string, unknown>, at: Date): ActivityItem {
  const known = (ACTIVITY_KINDS as readonly string[]).includes(kind) ? (kind as ActivityKind) : null;
  const methods = Array.isArray(detail.methods) ? detail.methods.map(String) : [];
  const how = methods.some((m) => m === "hwk" || m === "swk") ? "passkey" : methods.includes("otp") ? "twoFactors" : "password";
  const values = { client: str(detail.client), audience: str(detail.audience), passkey: str(detail.passkey), left: typeof detail.left === "number" ? detail.left : 0, context: known === "sign_in" ? how : undefined };
  const hasBrowser = "browser" in detail || "os" in detail;
  const words = browserWords({ browser: (detail.browser as string | null) ?? null, os: (detail.os as string | null) ?? null });
  return {
    at,
    what: msg(`account:activity.kind.${known ?? "other"}`, values),
    browser: hasBrowser ? msg(words.key, words.values) : null,
    network: typeof detail.network === "string" ? detail.network : null,
  };
}

/** The two sections' data for the account page: `sessionId` is this browser's app session (marked). */
export async function placesAndActivity(
  deps: { store: Pick<Store, "listAccountSessions" | "listActivity"> },
  input: { userId: string; sessionId?: string; activityPage?: number },
): Promise<{ places: PlaceItem[]; activity: { items: ActivityItem[]; page: number; older: boolean } }> {
  const at = activityPage(input.activityPage, ACTIVITY_PAGE_SIZE);
  const [rows, events] = await Promise.all([
    deps.store.listAccountSessions(input.userId),
    deps.store.listActivity(input.userId, at.offset, at.limit),
  ]);
  const places = rows.map((r) => {
    const words = browserWords(nameBrowser(r.userAgent));
    return {
      id: r.id,
      browser: msg(words.key, words.values),
      network: r.ipPrefix,
      signedInAt: r.signedInAt,
      lastSeenAt: r.lastSeenAt,
      thisBrowser: Boolean(input.sessionId) && r.appSessionId === input.sessionId,
      remembered: r.remembered,
    };
  });
  // This browser first, then the most recently seen.
  places.sort((a, b) => Number(b.thisBrowser) - Number(a.thisBrowser));
  const items = events.slice(0, ACTIVITY_PAGE_SIZE).map((e) => describeEvent(e.kind, e.detail, e.at));
  return { places, activity: { items, page: at.page, older: events.length > ACTIVITY_PAGE_SIZE } };
}

/** This browser as "End this session" sees it: its app session. */
export interface PlaceBrowser {
  sessionId: string;
}

/**
 * Ends one place of the user's: Hydra's login session first (when that fails nothing is deleted and
 * the person can try again), then its row and its app session. This browser's own place: "this
 * browser", which the route signs out as "Sign out" does (through Hydra's logout endpoint, which
 * also clears Hydra's cookie here).
 */
export async function endPlace(deps: PlacesDeps, browser: PlaceBrowser, input: { userId: string; id: string }): Promise<Outcome | "this browser"> {
  const place = await deps.store.getAccountSession(input.userId, input.id);
  if (!place) throw new AppError(404, "unknown_session", msg("account:where.gone"));
  if (place.appSessionId === browser.sessionId) return "this browser";
  if (place.loginSessionId) await deps.hydra.revokeLoginSession(place.loginSessionId);
  const event = { userId: input.userId, kind: "session_ended" as const, detail: { ...nameBrowser(place.userAgent), network: place.ipPrefix } };
  if (await deps.store.endAccountSession(input.userId, input.id, event)) logActivity(deps.logger, event);
  return { kind: "redirect", to: "/account?done=session-ended#where-heading" };
}
