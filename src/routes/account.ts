// /account — the signed-in user's page, the consents per audience and revoking one after a
// confirmation page (flows/account.ts); its forms are account-settings.ts. /account/login,
// /account/callback — the account page's own OAuth sign-in (flows/account-sign-in.ts);
// /account/sign-out ends this browser's sign-in.
import { Router, type Request, type Response, type NextFunction } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { startBrowserSignOut } from "../flows/sign-out";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { msg } from "../i18n";
import { lngOf } from "../middleware/page-locals";
import { AUDIENCE_ID_PATTERN } from "../config/audiences";
import { accountView } from "../flows/account";
import { askAgain, revokeConfirmPage, revokeConsent } from "../flows/account-consents";
import { endAccountSession, finishAccountSignIn, startAccountSignIn } from "../flows/account-sign-in";
import { sessionPort } from "./browser";
import { respond } from "./respond";

export type { AccountErrorField, AccountPageExtra, ConsentItem } from "../flows/account";

const audienceField = z.string({ message: "is required" }).max(255).regex(AUDIENCE_ID_PATTERN, "is not an audience identifier");
/** `confirm` comes only from the confirmation page: without it nothing is revoked (the page is shown instead). */
const scopeField = z.string().min(1).max(255).regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, "is not a permission");
/** `scope`: one permission of the consent instead of the whole of it. */
const RevokeForm = z.object({ audience: audienceField, scope: scopeField.optional(), confirm: z.string().max(20).optional() });
const RevokeQuery = z.object({ audience: audienceField, scope: scopeField.optional() });
const AskAgainForm = z.object({ audience: audienceField, scope: scopeField });
const AccountQuery = z.object({ revoked: z.string().max(255).optional(), done: z.string().max(50).optional(), activity: z.coerce.number().int().min(1).max(1000).optional() });
const LoginQuery = z.object({ prompt: z.enum(["login"]).optional() });
const CallbackQuery = z.union([
  z.object({ code: z.string().min(1).max(4096), state: z.string().min(1).max(512) }),
  z.object({ error: z.string().max(200), error_description: z.string().max(2000).optional(), state: z.string().max(512).optional() }),
]);

/** The account pages need a session made by the account's own sign-in; otherwise start it. */
export function requireAccountSession(req: Request, res: Response, next: NextFunction): void {
  if (req.session.userId && req.session.accountSignIn?.userId === req.session.userId) return next();
  if (req.method !== "GET") {
    return next(new AppError(401, "not_signed_in", msg("account:signIn.ended"), { title: msg("account:signIn.notSignedIn") }));
  }
  res.redirect(303, "/account/login");
}

export function accountRoutes(deps: Deps): Router {
  const router = Router();

  router.get("/account/login", async (req: Request, res: Response) => {
    const { prompt } = parseInput(LoginQuery, req.query, "sign-in link");
    respond(deps, req, res, await startAccountSignIn(deps, sessionPort(deps, req, res), prompt === "login"));
  });

  router.get("/account/callback", async (req: Request, res: Response) => {
    const answer = parseInput(CallbackQuery, req.query, "sign-in answer");
    respond(deps, req, res, await finishAccountSignIn(deps, sessionPort(deps, req, res), answer));
  });

  router.get("/account", requireAccountSession, async (req: Request, res: Response) => {
    const query = parseInput(AccountQuery, req.query, "account link");
    const { activity, ...rest } = query;
    respond(deps, req, res, await accountView(deps, { userId: req.session.userId!, lng: lngOf(res), sessionId: req.sessionID, activityPage: activity, ...rest }));
  });

  // Revoking asks first: the button on /account opens this page, which names the audience, its
  // applications and what they lose; only its own form (with confirm=yes) revokes.
  router.get("/account/consents/revoke", requireAccountSession, async (req: Request, res: Response) => {
    const query = parseInput(RevokeQuery, req.query, "account link");
    respond(deps, req, res, await revokeConfirmPage(deps, { userId: req.session.userId!, audienceId: query.audience, scope: query.scope, lng: lngOf(res) }));
  });

  router.post("/account/consents/revoke", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const userId = req.session.userId!;
    const form = parseInput(RevokeForm, req.body, "revocation form");
    respond(deps, req, res, await revokeConsent(deps, { userId, audienceId: form.audience, scope: form.scope, confirmed: form.confirm === "yes", lng: lngOf(res) }));
  });

  router.post("/account/consents/ask-again", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(AskAgainForm, req.body, "account form");
    respond(deps, req, res, await askAgain(deps, { userId: req.session.userId!, audienceId: form.audience, scope: form.scope }));
  });

  /**
   * "Sign out": ends this browser's sign-in, and only this browser's (other devices stay signed in,
   * unlike "Sign out everywhere", which revokes every Hydra login session of the user): the app
   * session here, then Hydra's login session through Hydra's own logout endpoint, which /logout
   * answers without asking and which ends on /signed-out (see SIGN_OUT_COOKIE in flows/sign-out.ts for why
   * not through the admin API). When Hydra does not remember this browser it goes to /signed-out at once.
   */
  router.post("/account/sign-out", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    await endAccountSession(deps, sessionPort(deps, req, res), req.session.userId!);
    startBrowserSignOut(res, deps.env, null);
  });

  return router;
}
