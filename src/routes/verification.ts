// /verification — confirming an email address with the link or the short code from the mail, and
// asking for a new mail. A link is proof of access to the mailbox (it works in any browser that is
// not signed in as somebody else), never of who the browser is: the sign-in held for the address goes
// on only in the browser whose session holds it. A code is typed where the user is signing in, so it
// needs that browser's session (its signed-in user or its login step held for verification).
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { msg, type Msg } from "../i18n";
import { lngOf, tOf } from "../middleware/page-locals";
import { MAX_CODE_ATTEMPTS, normalizeEmail } from "../services/store";
import { checkInboxPage, challengeDigest, verificationMailKey, wentOn } from "../flows/sign-in-step";
import { saveSession } from "./browser";
import { respond } from "./respond";
import { queueAccountExistsMail, queueVerificationMail } from "../flows/mail-links";
import { resumePendingLogin } from "./login";

const tokenField = z.string({ message: "is required" }).regex(/^[A-Za-z0-9_-]{20,100}$/, "is not a link from our mail");
const LinkQuery = z.object({ token: tokenField.optional() });
const ConfirmForm = z.object({ token: tokenField });
const CodeForm = z.object({ code: z.string({ message: "is required" }).trim().max(20), login_challenge: challenge.optional() });
const ResendForm = z.object({ login_challenge: challenge.optional() });

const WRONG_CODE = msg("verification:code.wrong");
const TOO_MANY_CODES = msg("verification:code.tooMany");

const LINK_PROBLEMS = { unknown: 404, used: 410, expired: 410 } as const;
const TITLE = msg("verification:title");

function linkProblem(status: keyof typeof LINK_PROBLEMS): AppError {
  return new AppError(LINK_PROBLEMS[status], `verification_${status}`, msg(`verification:link.${status}`), { title: TITLE });
}
const notSignedIn = (key: string) => new AppError(401, "not_signed_in", msg(key), { title: msg("verification:notSignedIn.title") });

function renderVerified(res: Response, email: string): void {
  res.render("verified", { title: tOf(res)("verification:verified.title"), email });
}

export function verificationRoutes(deps: Deps): Router {
  const { store, env } = deps;
  const router = Router();

  /** Whose address this browser is confirming by code: its login step held for verification, else its signed-in user. */
  function browserUserId(req: Request, loginChallenge: string | undefined): string | undefined {
    const pending = req.session.pendingLogin;
    if (pending && (!loginChallenge || pending.challenge === challengeDigest(loginChallenge))) return pending.userId;
    return req.session.userId;
  }

  /** The "check your inbox" page; notice and error are shown in the page's language. */
  async function inboxPage(req: Request, res: Response, userId: string | undefined, loginChallenge: string | undefined, extra: { notice?: Msg; error?: Msg; status?: number }) {
    const decoy = decoyOf(req, loginChallenge);
    const email = decoy ? decoy.email : userId ? (await store.getUser(userId))?.email : undefined;
    if (!email) throw notSignedIn("verification:notSignedIn.accountGone");
    respond(deps, req, res, checkInboxPage({ email, audienceName: null, loginChallenge: loginChallenge ?? null, status: extra.status, notice: extra.notice, error: extra.error }));
  }

  /** The held step of a sign-up with an address that already has an account (see registration.ts). */
  function decoyOf(req: Request, loginChallenge: string | undefined) {
    const pending = req.session.pendingLogin;
    return pending?.decoy && loginChallenge && pending.challenge === challengeDigest(loginChallenge) ? pending.decoy : null;
  }

  router.get("/verification", async (req: Request, res: Response) => {
    const { token } = parseInput(LinkQuery, req.query, "confirmation link");
    if (!token) {
      const userId = browserUserId(req, undefined);
      if (!userId) throw new AppError(400, "no_verification", msg("verification:noVerification"), { title: TITLE });
      return inboxPage(req, res, userId, undefined, {});
    }
    const found = await store.lookupOneTimeToken("VERIFY_EMAIL", token);
    if (found.status !== "valid") throw linkProblem(found.status);
    if (req.session.userId && req.session.userId !== found.token.userId) {
      throw new AppError(403, "verification_other_account", msg("verification:otherAccount.open"), { title: TITLE });
    }
    // Confirming takes a click: mail scanners that open links must not use them up.
    res.render("verify-confirm", { title: tOf(res)("verification:title"), csrfToken: deps.csrf.token(req), token, email: found.token.email });
  });

  router.post("/verification", deps.csrf.protect, async (req: Request, res: Response) => {
    const { token } = parseInput(ConfirmForm, req.body, "confirmation form");
    const found = await store.lookupOneTimeToken("VERIFY_EMAIL", token);
    if (found.status === "valid" && req.session.userId && req.session.userId !== found.token.userId) {
      throw new AppError(403, "verification_other_account", msg("verification:otherAccount.confirm"), { title: TITLE });
    }
    const used = await store.transaction(async (tx) => {
      const t = await store.useOneTimeToken(tx, "VERIFY_EMAIL", token);
      return t && (await store.markEmailVerified(tx, t.userId, t.email)) ? t : null;
    });
    if (!used) throw linkProblem(found.status === "valid" ? "used" : found.status);
    deps.logger.info({ event: "email_verified", subject: used.userId, via: "link" }, "email address verified");
    // Confirmed in the browser that waits on "check your inbox" for this account: the sign-in goes on
    // here, as "I confirmed it, continue" would. When it cannot (the flow expired or went on
    // elsewhere), the address is confirmed all the same and the page says so.
    const held = req.session.pendingLogin;
    if (held?.loginChallenge && held.userId === used.userId && (await wentOn(resumePendingLogin(deps, req, res, held.loginChallenge).then(() => true)))) return;
    renderVerified(res, used.email);
  });

  router.post("/verification/code", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(CodeForm, req.body, "code form");
    const userId = browserUserId(req, form.login_challenge);
    if (!userId && !decoyOf(req, form.login_challenge)) throw notSignedIn("verification:notSignedIn.code");
    if (!/^\d{6}$/.test(form.code)) {
      return inboxPage(req, res, userId, form.login_challenge, { status: 400, error: msg("verification:code.format") });
    }
    const decoy = decoyOf(req, form.login_challenge);
    const address = decoy ? decoy.email : userId ? (await store.getUser(userId))?.email : undefined;
    if (!address) throw notSignedIn("verification:notSignedIn.accountGone");
    // Counted for the address and the client's IP, never for the account: an account deleted and made
    // again starts no new budget of guesses. The same for an address that has an account (the decoy).
    for (const [kind, key] of [["verificationCodeIp", req.ip ?? ""], ["verificationCodeAddress", normalizeEmail(address)]] as const) {
      const limit = await deps.limits.consume(kind, key);
      if (!limit.allowed) {
        res.setHeader("Retry-After", String(limit.retryAfterSeconds));
        const error = msg("verification:code.tooManyTries", { count: Math.max(1, Math.ceil(limit.retryAfterSeconds / 60)) });
        return inboxPage(req, res, userId, form.login_challenge, { status: 429, error });
      }
    }
    if (decoy) {
      // Answers exactly as a wrong code for a new account would: there is nothing to verify here.
      decoy.codeTries++;
      await saveSession(req);
      const error = decoy.codeTries >= MAX_CODE_ATTEMPTS ? TOO_MANY_CODES : WRONG_CODE;
      return inboxPage(req, res, userId, form.login_challenge, { status: 400, error });
    }
    if (!userId) throw notSignedIn("verification:notSignedIn.code");
    const result = await store.useCode("VERIFY_EMAIL", userId, form.code);
    if (result.status !== "ok") {
      const error =
        result.status === "wrong" ? WRONG_CODE : result.status === "locked" ? TOO_MANY_CODES : msg("verification:code.none");
      return inboxPage(req, res, userId, form.login_challenge, { status: 400, error });
    }
    await store.transaction((tx) => store.markEmailVerified(tx, userId, result.email));
    deps.logger.info({ event: "email_verified", subject: userId, via: "code" }, "email address verified");
    if (form.login_challenge && req.session.pendingLogin?.userId === userId) return resumePendingLogin(deps, req, res, form.login_challenge);
    renderVerified(res, result.email);
  });

  router.post("/verification/resend", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(ResendForm, req.body, "form");
    const userId = browserUserId(req, form.login_challenge);
    if (!userId && !decoyOf(req, form.login_challenge)) throw notSignedIn("verification:notSignedIn.resend");
    const decoy = decoyOf(req, form.login_challenge);
    const user = decoy ? null : await store.getUser(userId!);
    if (!decoy && !user) throw notSignedIn("verification:notSignedIn.accountGone");
    // Per address, as the codes: a new account for the address gets no new budget of mails.
    const limit = await deps.limits.consume("verificationMail", verificationMailKey(decoy ? decoy.email : user!.email));
    if (!limit.allowed) {
      res.setHeader("Retry-After", String(limit.retryAfterSeconds));
      return inboxPage(req, res, userId, form.login_challenge, { status: 429, error: msg("verification:resend.tooMany") });
    }
    if (decoy) {
      // The address's owner hears that someone tried; the page says what it says for a new account.
      const owner = await store.findUserByEmail(decoy.email);
      if (owner) await store.transaction((tx) => queueAccountExistsMail(tx, env, owner, lngOf(res)));
      deps.mailer.kick();
      return inboxPage(req, res, userId, form.login_challenge, { notice: msg("verification:resend.sent", { email: decoy.email }) });
    }
    if (!user) throw notSignedIn("verification:notSignedIn.accountGone");
    if (user.emailVerified) return inboxPage(req, res, userId, form.login_challenge, { notice: msg("verification:resend.alreadyConfirmed") });
    await store.transaction((tx) => queueVerificationMail(tx, env, user, lngOf(res)));
    deps.mailer.kick();
    return inboxPage(req, res, userId, form.login_challenge, { notice: msg("verification:resend.sent", { email: user.email }) });
  });

  return router;
}
