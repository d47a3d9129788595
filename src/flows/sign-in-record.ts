// What a completed sign-in leaves besides the session: the place it was made from (/account's
// "Where you're signed in"), its event in the account's activity, and, from a browser that held no
// sign-in of the account, the "new sign-in to your account" notice. All of it rides in the
// statement that saves the sign-in's session (store/account-activity.ts signInWrites).
import { randomUUID } from "node:crypto";
import type { Env } from "../config/env";
import { browserWords, type ActivityEvent } from "../decisions/activity";
import { nameBrowser, networkOf, USER_AGENT_MAX } from "../decisions/sign-in-place";
import type { Language } from "../i18n";
import type { Along } from "../services/db";
import { signInWrites } from "../services/store";
import type { MailTemplate } from "../services/mail";

/** Where the browser signs in from, as the route saw the request. */
export interface BrowserPlace {
  userAgent: string;
  ip: string;
}

/** The notice mail's template. */
export const NEW_SIGN_IN_MAIL: MailTemplate = "new-sign-in";

/** A completed sign-in's writes (in its session's save) and the event to log once they are written. */
export function signInRecord(
  env: Pick<Env, "APP_BASE_URL" | "LOGIN_REMEMBER_FOR_SECONDS">,
  place: BrowserPlace,
  o: {
    user: { id: string };
    loginSessionId: string | undefined;
    remember: boolean;
    methods: readonly string[];
    clientId?: string;
    /** The browser held no sign-in of this account: the notice goes out, in this language. */
    newBrowser?: { lng: Language };
  },
): { writes: NonNullable<Along["writes"]>; event: ActivityEvent } {
  const named = nameBrowser(place.userAgent);
  const network = networkOf(place.ip);
  const event: ActivityEvent = {
    userId: o.user.id,
    kind: "sign_in",
    detail: { methods: [...o.methods], ...named, network, ...(o.clientId ? { client: o.clientId } : {}), ...(o.newBrowser ? { newBrowser: true } : {}) },
  };
  const notice = o.newBrowser
    ? {
        template: NEW_SIGN_IN_MAIL,
        data: JSON.stringify({ lng: o.newBrowser.lng, when: new Date().toISOString(), browserWords: browserWords(named), network, accountUrl: `${env.APP_BASE_URL}/account` }),
      }
    : undefined;
  const writes = signInWrites({
    id: randomUUID(),
    userId: o.user.id,
    loginSessionId: o.loginSessionId,
    userAgent: place.userAgent.slice(0, USER_AGENT_MAX),
    ipPrefix: network,
    rememberedUntil: o.remember ? new Date(Date.now() + env.LOGIN_REMEMBER_FOR_SECONDS * 1000) : null,
    event: { userId: event.userId, kind: event.kind, detail: event.detail },
    notice,
  });
  return { writes, event };
}
