// /account/second-factor/… — the account page's second factor (flows/account-factors.ts): set up
// an authenticator, new recovery codes, remove it.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { parseInput } from "../middleware/validate";
import { requireAccountSession } from "./account";
import { confirmAccountEnrolment, removeAccountFactor, replaceRecoveryCodes, startAccountEnrolment } from "../flows/account-factors";
import { accountActor, accountBrowser } from "./browser";
import { respond } from "./respond";

const password = z.string({ message: "is required" }).max(1024, "is too long");
const SetupForm = z.object({ code: z.string({ message: "is required" }).trim().max(16, "is too long"), current_password: password });
const PasswordForm = z.object({ current_password: password });

export function accountFactorRoutes(deps: Deps): Router {
  const router = Router();
  const actor = accountActor;
  const browser = (req: Request) => accountBrowser(deps, req);

  router.post("/account/second-factor/start", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    respond(deps, req, res, await startAccountEnrolment(deps, { userId: req.session.userId! }));
  });

  router.post("/account/second-factor/setup", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(SetupForm, req.body, "authenticator set-up form");
    const input = { ...actor(req, res), sessionId: req.sessionID, code: form.code, currentPassword: form.current_password };
    respond(deps, req, res, await confirmAccountEnrolment(deps, browser(req), input));
  });

  router.post("/account/second-factor/recovery-codes", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(PasswordForm, req.body, "recovery codes form");
    respond(deps, req, res, await replaceRecoveryCodes(deps, browser(req), { ...actor(req, res), currentPassword: form.current_password }));
  });

  router.post("/account/second-factor/remove", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(PasswordForm, req.body, "remove form");
    respond(deps, req, res, await removeAccountFactor(deps, browser(req), { ...actor(req, res), sessionId: req.sessionID, currentPassword: form.current_password }));
  });

  return router;
}
