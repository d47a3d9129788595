// The notice to an account's address that its second factors changed (an authenticator set up or
// removed, recovery codes replaced, or one used, with how many are left; it carries no secret) and
// the change's event in the account's activity, and the set-up's confirmation that writes them,
// shared by the sign-in and the account page.
import { greetingName } from "../decisions/outbox";
import type { Language } from "../i18n";
import type { Queryable } from "../services/db";
import { enqueueMail } from "../services/mail";
import type { Logger } from "../logger";
import type { Factors } from "../services/factors";
import type { Mailer } from "../services/mail";
import type { Store, User } from "../services/store";
import type { PageLook } from "./page";
import type { ActivityEvent } from "../decisions/activity";
import { noteActivity } from "./activity";

export type FactorChange =
  | { change: "added" | "removed" | "codes-replaced" }
  | { change: "code-used"; left: number }
  | { change: "passkey-added" | "passkey-removed"; passkey: string };

/** A factor change as the account's activity tells it. */
export function factorChangeEvent(userId: string, what: FactorChange): ActivityEvent {
  switch (what.change) {
    case "added":
      return { userId, kind: "factor_added" };
    case "removed":
      return { userId, kind: "factor_removed" };
    case "codes-replaced":
      return { userId, kind: "recovery_codes_replaced" };
    case "code-used":
      return { userId, kind: "recovery_code_used", detail: { left: what.left } };
    case "passkey-added":
      return { userId, kind: "passkey_added", detail: { passkey: what.passkey } };
    case "passkey-removed":
      return { userId, kind: "passkey_removed", detail: { passkey: what.passkey } };
  }
}

/** The notice of a factor change, with its event in the account's activity, in the change's transaction. */
export async function queueFactorsChangedMail(
  tx: Queryable,
  user: Pick<User, "id" | "email" | "name" | "emailVerified">,
  lng: Language,
  what: FactorChange,
  logger: Pick<Logger, "info">,
): Promise<void> {
  await noteActivity(tx, factorChangeEvent(user.id, what), logger);
  await enqueueMail(tx, {
    to: user.email,
    userId: user.id,
    template: "factors-changed",
    lng,
    data: { name: greetingName(user), email: user.email, when: new Date().toISOString(), ...what },
  });
}

/**
 * Confirms the user's authenticator with the step of its first code, with new recovery codes and
 * the notice mail, in one transaction. The codes to show, or null when the set-up was confirmed or
 * replaced meanwhile.
 */
export async function confirmEnrolment(
  deps: {
    store: Pick<Store, "transaction" | "acceptTotpStep" | "replaceRecoveryCodes">;
    factors: Pick<Factors, "newRecoveryCodes">;
    mailer: Pick<Mailer, "kick">;
    logger: Pick<Logger, "info">;
  },
  user: Pick<User, "id" | "email" | "name" | "emailVerified">,
  step: number,
  look: Pick<PageLook, "language">,
): Promise<string[] | null> {
  const { codes, hashes } = deps.factors.newRecoveryCodes(user.id);
  const done = await deps.store.transaction(async (tx) => {
    if (!(await deps.store.acceptTotpStep(user.id, step, true, tx))) return false;
    await deps.store.replaceRecoveryCodes(user.id, hashes, tx);
    await queueFactorsChangedMail(tx, user, look.language(), { change: "added" }, deps.logger);
    return true;
  });
  if (!done) return null;
  deps.mailer.kick();
  deps.logger.info({ event: "second_factor_added", subject: user.id, method: "totp" }, "authenticator set up");
  return codes;
}
