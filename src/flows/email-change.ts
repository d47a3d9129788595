// Changing the account's email address: a link to the new address, which changes only when it is
// confirmed (the link works in any browser that is not signed in as another account; confirming
// takes a click, so mail scanners do not use it up), and a notice to the old one.
import type { Env } from "../config/env";
import { credentialRefusal, decideEmailChange, judgeChangeEmailLink } from "../decisions/account-settings";
import { greetingName } from "../decisions/outbox";
import { AppError } from "../errors";
import { msg, type Language } from "../i18n";
import type { Limits } from "../services/limits";
import { enqueueMail } from "../services/mail";
import { noteActivity } from "./activity";
import { EmailTakenError, issueOneTimeToken, normalizeEmail, type Store } from "../services/store";
import { accountPage } from "./account";
import { checkCurrentPassword, signedInUser, type AccountActor, type AccountBrowser, type AccountSettingsDeps } from "./account-settings";
import { page, retryAfter, type Outcome } from "./outcome";
import type { AppSession } from "./session";

export interface EmailChangeDeps extends AccountSettingsDeps {
  env: Pick<Env, "APP_BASE_URL" | "EMAIL_VERIFICATION_TTL_SECONDS">;
  store: AccountSettingsDeps["store"] & Pick<Store, "findUserByEmail" | "lookupOneTimeToken" | "useOneTimeToken" | "applyEmailChange">;
  limits: AccountSettingsDeps["limits"] & Pick<Limits, "consume">;
}

const TITLE = msg("account:changeEmail.title");

/** Asks for the change: after the current password, a link to the new address (within the mail limit). */
export async function requestEmailChange(deps: EmailChangeDeps, browser: AccountBrowser, input: AccountActor & { email: string; currentPassword: string }): Promise<Outcome> {
  const { store, env } = deps;
  const user = await signedInUser(deps, input.userId);
  const refused = credentialRefusal(await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword }), msg("account:notChanged.email"));
  if (refused) return accountPage(deps, input, { status: refused.status, error: { form: "email", message: refused.message, field: "email-current-password" } });

  const requested = normalizeEmail(input.email);
  const owner = requested === user.emailNormalized ? user : await store.findUserByEmail(requested);
  const decision = decideEmailChange({ current: user.emailNormalized, requested, takenByAnother: Boolean(owner && owner.id !== user.id) });
  if (decision.kind === "unchanged") return { kind: "redirect", to: "/account?done=email-unchanged" };

  const limit = await deps.limits.consume("verificationMail", `change-email:${user.id}`);
  if (!limit.allowed) {
    const refusal = await accountPage(deps, input, { status: 429, error: { form: "email", message: msg("account:refused.tooManyMails"), field: "new-email" } });
    return retryAfter(refusal, limit.retryAfterSeconds);
  }
  // Mails go out in the language of the page where they were asked for.
  const { lng, email } = input;
  await store.transaction(async (tx) => {
    // A token is issued either way (it retires any earlier request and the page shows the same
    // pending change); when the address is taken it is never sent, so it can never be used.
    const { token, expiresAt } = await issueOneTimeToken(tx, { kind: "CHANGE_EMAIL", userId: user.id, email, ttlSeconds: env.EMAIL_VERIFICATION_TTL_SECONDS, withCode: false });
    if (decision.kind === "send-link") {
      // To an address nobody has confirmed yet: the mail greets nobody (greetingName).
      await enqueueMail(tx, {
        to: email,
        userId: user.id,
        template: "change-email",
        lng,
        data: { email, link: `${env.APP_BASE_URL}/account/email/confirm?token=${token}`, expiresAt: expiresAt.toISOString() },
      });
    } else {
      await enqueueMail(tx, { to: email, userId: user.id, template: "change-email-taken", lng, data: { email, recoveryLink: `${env.APP_BASE_URL}/recovery` } });
    }
  });
  deps.mailer.kick();
  deps.logger.info({ event: "account_email_change_requested", subject: user.id }, "email change requested");
  return { kind: "redirect", to: "/account?done=email-sent" };
}

/** The link's token, judged for this browser (a browser signed in as another account may not use it). */
async function judgedLink(deps: Pick<EmailChangeDeps, "store">, token: string, session: AppSession) {
  const found = await deps.store.lookupOneTimeToken("CHANGE_EMAIL", token);
  const verdict = judgeChangeEmailLink(found.status, found.status === "valid" ? found.token.userId : null, session.userId);
  if (verdict.kind === "refuse") throw new AppError(verdict.status, verdict.code, verdict.message, { title: TITLE });
  return found;
}

/** The link from the mail: a page that confirms with a click. */
export async function emailConfirmPage(deps: Pick<EmailChangeDeps, "store">, token: string, session: AppSession): Promise<Outcome> {
  const found = await judgedLink(deps, token, session);
  return page("change-email-confirm", TITLE, { token, email: found.status === "valid" ? found.token.email : "" }, { form: true });
}

/** The click: the address changes, and the old address hears of it. */
export async function confirmEmailChange(deps: EmailChangeDeps, input: { token: string; session: AppSession; lng: Language }): Promise<Outcome> {
  const { store } = deps;
  const { token, session, lng } = input;
  await judgedLink(deps, token, session);
  let changed: { userId: string; email: string } | null;
  try {
    changed = await store.transaction(async (tx) => {
      const used = await store.useOneTimeToken(tx, "CHANGE_EMAIL", token);
      if (!used) return null;
      const applied = await store.applyEmailChange(tx, used.userId, used.email);
      if (!applied) return null;
      await noteActivity(tx, { userId: used.userId, kind: "email_changed" }, deps.logger);
      await enqueueMail(tx, {
        to: applied.oldEmail,
        userId: used.userId,
        template: "email-changed",
        lng,
        data: { name: greetingName({ name: applied.name, emailVerified: applied.oldEmailVerified }), oldEmail: applied.oldEmail, newEmail: used.email, when: new Date().toISOString() },
      });
      return used;
    });
  } catch (err) {
    if (!(err instanceof EmailTakenError)) throw err;
    throw new AppError(409, "change_email_taken", msg("account:changeEmail.taken"), { title: TITLE });
  }
  if (!changed) {
    const again = judgeChangeEmailLink("used", null, undefined);
    throw new AppError(410, "change_email_used", again.kind === "refuse" ? again.message : msg("account:changeEmail.used"), { title: TITLE });
  }
  deps.mailer.kick();
  deps.logger.info({ event: "account_email_changed", subject: changed.userId }, "email address changed");
  if (session.userId === changed.userId && session.accountSignIn?.userId === changed.userId) return { kind: "redirect", to: "/account?done=email-changed" };
  return page("message", msg("account:changeEmail.doneTitle"), { message: msg("account:changeEmail.done", { email: changed.email }) });
}
