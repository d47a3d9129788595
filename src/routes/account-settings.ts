// /account's own forms (the page itself is account.ts): the name; the email address (a link to the
// new address, which changes only when it is confirmed, and a notice to the old one); the password
// (other sessions end, this browser stays signed in); sign out everywhere; delete the account.
// /account/email/confirm — the change-email link from the mail (works in any browser that is not
// signed in as another account; confirming takes a click, so mail scanners do not use it up).
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { msg } from "../i18n";
import { lngOf, tOf } from "../middleware/page-locals";
import { renderAccount, requireAccountSession } from "./account";
import { enqueueMail } from "../services/mail";
import { EmailTakenError, issueOneTimeToken, normalizeEmail, type User } from "../services/store";
import { hashPassword, passwordProblem, personalInputs, verifyPassword } from "../services/passwords";
import { credentialRefusal, decideEmailChange, decidePasswordChange, judgeChangeEmailLink, splitName, type CredentialCheck } from "../decisions/account-settings";
import { greetingName } from "../decisions/outbox";
import { deleteUserEverywhere, DeleteUserError, endUserAccess, EndUserAccessError } from "../flows/credential-change";

const password = z.string({ message: "is required" }).max(1024, "is too long");
const ProfileForm = z.object({ name: z.string({ message: "is required" }).trim().min(1, "is required").max(200, "is too long") });
const EmailForm = z.object({
  email: z.string({ message: "is required" }).trim().max(320, "is too long").pipe(z.email({ message: "is not an email address" })),
  current_password: password,
});
const PasswordForm = z.object({ current_password: password, new_password: password });
const DeleteForm = z.object({ current_password: password });
const tokenField = z.string({ message: "is required" }).regex(/^[A-Za-z0-9_-]{20,100}$/, "is not a link from our mail");
const LinkQuery = z.object({ token: tokenField });


export function accountSettingsRoutes(deps: Deps): Router {
  const { store, hydra, env, logger } = deps;
  const router = Router();

  async function signedInUser(req: Request): Promise<User> {
    const user = await store.getUser(req.session.userId!);
    if (!user) throw new AppError(401, "not_signed_in", msg("account:signIn.accountGone"), { title: msg("account:signIn.notSignedIn") });
    return user;
  }

  /**
   * Checks the current password typed into an account form, counted against the same limits as a
   * sign-in (this browser's device counter, else per IP and account): a stolen session cannot be
   * used to guess the password. A right password takes its attempt back.
   */
  async function checkCurrentPassword(req: Request, user: User, given: string): Promise<CredentialCheck> {
    const device = deps.browser.trustedDevice(req, user.emailNormalized);
    const count = await deps.limits.consumeSignIn({ ip: req.ip ?? "unknown", emailNormalized: user.emailNormalized, device });
    if (!count.allowed) {
      logger.warn({ event: "account_password_throttled", subject: user.id, limit: count.refusedBy }, "account password check throttled");
      return { throttledForSeconds: count.retryAfterSeconds };
    }
    if (!(await verifyPassword(user.passwordHash, given))) {
      logger.info({ event: "account_password_wrong", subject: user.id }, "account action refused: wrong current password");
      return "wrong";
    }
    await deps.limits.settleSignIn(count.counted);
    return "right";
  }

  function endThisSession(req: Request, res: Response): Promise<void> {
    return new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve()))).then(() => {
      res.clearCookie(env.SESSION_COOKIE_NAME);
    });
  }

  router.post("/account/profile", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(ProfileForm, req.body, "name form");
    const userId = req.session.userId!;
    await store.setName(userId, splitName(form.name));
    logger.info({ event: "account_name_changed", subject: userId }, "name changed");
    res.redirect(303, "/account?done=name");
  });

  router.post("/account/email", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(EmailForm, req.body, "email form");
    const user = await signedInUser(req);
    const refused = credentialRefusal(await checkCurrentPassword(req, user, form.current_password), msg("account:notChanged.email"));
    if (refused) return renderAccount(deps, req, res, { status: refused.status, error: { form: "email", message: refused.message, field: "email-current-password" } });

    const requested = normalizeEmail(form.email);
    const owner = requested === user.emailNormalized ? user : await store.findUserByEmail(requested);
    const decision = decideEmailChange({ current: user.emailNormalized, requested, takenByAnother: Boolean(owner && owner.id !== user.id) });
    if (decision.kind === "unchanged") return res.redirect(303, "/account?done=email-unchanged");

    const limit = await deps.limits.consume("verificationMail", `change-email:${user.id}`);
    if (!limit.allowed) {
      res.setHeader("Retry-After", String(limit.retryAfterSeconds));
      return renderAccount(deps, req, res, {
        status: 429,
        error: { form: "email", message: msg("account:refused.tooManyMails"), field: "new-email" },
      });
    }
    // Mails go out in the language of the page where they were asked for.
    const lng = lngOf(res);
    await store.transaction(async (tx) => {
      // A token is issued either way (it retires any earlier request and the page shows the same
      // pending change); when the address is taken it is never sent, so it can never be used.
      const { token, expiresAt } = await issueOneTimeToken(tx, { kind: "CHANGE_EMAIL", userId: user.id, email: form.email, ttlSeconds: env.EMAIL_VERIFICATION_TTL_SECONDS, withCode: false });
      if (decision.kind === "send-link") {
        // To an address nobody has confirmed yet: the mail greets nobody (greetingName).
        await enqueueMail(tx, {
          to: form.email,
          userId: user.id,
          template: "change-email",
          lng,
          data: { email: form.email, link: `${env.APP_BASE_URL}/account/email/confirm?token=${token}`, expiresAt: expiresAt.toISOString() },
        });
      } else {
        await enqueueMail(tx, { to: form.email, userId: user.id, template: "change-email-taken", lng, data: { email: form.email, recoveryLink: `${env.APP_BASE_URL}/recovery` } });
      }
    });
    deps.mailer.kick();
    logger.info({ event: "account_email_change_requested", subject: user.id }, "email change requested");
    res.redirect(303, "/account?done=email-sent");
  });

  router.get("/account/email/confirm", async (req: Request, res: Response) => {
    const { token } = parseInput(LinkQuery, req.query, "link");
    const found = await store.lookupOneTimeToken("CHANGE_EMAIL", token);
    const verdict = judgeChangeEmailLink(found.status, found.status === "valid" ? found.token.userId : null, req.session.userId);
    if (verdict.kind === "refuse") throw new AppError(verdict.status, verdict.code, verdict.message, { title: msg("account:changeEmail.title") });
    res.render("change-email-confirm", { title: tOf(res)("account:changeEmail.title"), csrfToken: deps.csrf.token(req), token, email: found.status === "valid" ? found.token.email : "" });
  });

  router.post("/account/email/confirm", deps.csrf.protect, async (req: Request, res: Response) => {
    const { token } = parseInput(LinkQuery, req.body, "confirmation form");
    const found = await store.lookupOneTimeToken("CHANGE_EMAIL", token);
    const verdict = judgeChangeEmailLink(found.status, found.status === "valid" ? found.token.userId : null, req.session.userId);
    if (verdict.kind === "refuse") throw new AppError(verdict.status, verdict.code, verdict.message, { title: msg("account:changeEmail.title") });
    const lng = lngOf(res);
    let changed: { userId: string; email: string } | null;
    try {
      changed = await store.transaction(async (tx) => {
        const used = await store.useOneTimeToken(tx, "CHANGE_EMAIL", token);
        if (!used) return null;
        const applied = await store.applyEmailChange(tx, used.userId, used.email);
        if (!applied) return null;
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
      throw new AppError(409, "change_email_taken", msg("account:changeEmail.taken"), { title: msg("account:changeEmail.title") });
    }
    if (!changed) {
      const again = judgeChangeEmailLink("used", null, undefined);
      throw new AppError(410, "change_email_used", again.kind === "refuse" ? again.message : msg("account:changeEmail.used"), { title: msg("account:changeEmail.title") });
    }
    deps.mailer.kick();
    logger.info({ event: "account_email_changed", subject: changed.userId }, "email address changed");
    if (req.session.userId === changed.userId && req.session.accountSignIn?.userId === changed.userId) return res.redirect(303, "/account?done=email-changed");
    const t = tOf(res);
    res.render("message", { title: t("account:changeEmail.doneTitle"), message: t("account:changeEmail.done", { email: changed.email }) });
  });

  router.post("/account/password", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(PasswordForm, req.body, "password form");
    const user = await signedInUser(req);
    const current = await checkCurrentPassword(req, user, form.current_password);
    const decision = decidePasswordChange({
      current,
      strengthProblem: current === "right" ? passwordProblem(form.new_password, personalInputs(user.email, user.name ?? ""), lngOf(res)) : null,
      sameAsCurrent: current === "right" && form.new_password === form.current_password,
    });
    if (decision.kind === "refuse") {
      const field = decision.field === "new_password" ? "new-password" : "current-password";
      return renderAccount(deps, req, res, { status: decision.status, error: { form: "password", message: decision.message, field } });
    }

    const passwordHash = await hashPassword(form.new_password);
    await store.transaction(async (tx) => {
      await store.setPasswordHash(tx, user.id, passwordHash);
      await enqueueMail(tx, {
        to: user.email,
        userId: user.id,
        template: "password-changed",
        lng: lngOf(res),
        data: { name: greetingName(user), email: user.email, when: new Date().toISOString(), how: "account" },
      });
    });
    deps.mailer.kick();
    // Every other session ends: Hydra's login sessions (remembered browsers) and the app sessions
    // but this browser's. Tokens already given to applications are kept (revoke them below).
    let done = "password";
    try {
      const ended = await endUserAccess({ store, hydra, userId: user.id, revokeTokens: false, keepSessionId: req.sessionID });
      logger.info({ event: "account_password_changed", subject: user.id, appSessionsEnded: ended.appSessions }, "password changed");
    } catch (err) {
      if (!(err instanceof EndUserAccessError)) throw err;
      logger.error({ event: "account_password_changed_partly", subject: user.id, failures: err.failures }, "password changed, other sessions not all ended");
      done = "password-partly";
    }
    res.redirect(303, `/account?done=${done}`);
  });

  router.post("/account/sign-out-everywhere", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const userId = req.session.userId!;
    let failures: string[] = [];
    let appSessions = 0;
    try {
      appSessions = (await endUserAccess({ store, hydra, userId, revokeTokens: false })).appSessions;
    } catch (err) {
      if (!(err instanceof EndUserAccessError)) throw err;
      failures = err.failures;
      appSessions = err.ended.appSessions;
    }
    await endThisSession(req, res);
    logger.info({ event: "account_signed_out_everywhere", subject: userId, appSessions, failures }, "signed out everywhere");
    const t = tOf(res);
    if (failures.length) return res.status(503).render("message", { title: t("account:everywhere.failedTitle"), message: t("account:everywhere.failed") });
    res.render("message", { title: t("account:everywhere.title"), message: t("account:everywhere.done", { count: appSessions }) });
  });

  router.post("/account/delete", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(DeleteForm, req.body, "deletion form");
    const user = await signedInUser(req);
    const refused = credentialRefusal(await checkCurrentPassword(req, user, form.current_password), msg("account:notChanged.delete"));
    if (refused) return renderAccount(deps, req, res, { status: refused.status, error: { form: "delete", message: refused.message, field: "delete-password" } });
    let deleted;
    try {
      deleted = await deleteUserEverywhere({ store, hydra, userId: user.id });
    } catch (err) {
      if (!(err instanceof DeleteUserError)) throw err;
      logger.error({ event: "account_delete_failed", subject: user.id, failures: err.failures }, "account not deleted");
      return renderAccount(deps, req, res, {
        status: 503,
        error: { form: "delete", message: msg("account:delete.unavailable"), field: "delete-password" },
      });
    }
    await endThisSession(req, res);
    logger.info({ event: "account_deleted", subject: user.id, by: "self", ...deleted }, "account deleted");
    const t = tOf(res);
    res.render("message", { title: t("account:delete.title"), message: t("account:delete.done", { email: user.email }) });
  });

  return router;
}
