// /account's own forms (the page itself is account.ts): the name, the email address
// (flows/email-change.ts), the password, sign out everywhere, download my data (flows/data-export.ts),
// delete the account
// (flows/account-settings.ts). /account/email/confirm — the change-email link from the mail.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { parseInput } from "../middleware/validate";
import { lngOf } from "../middleware/page-locals";
import { requireAccountSession } from "./account";
import { changeName, changePassword, deleteAccount, signOutEverywhere } from "../flows/account-settings";
import { downloadMyData } from "../flows/data-export";
import { confirmEmailChange, emailConfirmPage, requestEmailChange } from "../flows/email-change";
import { accountActor, accountBrowser, sessionPort } from "./browser";
import { respond } from "./respond";

const password = z.string({ message: "is required" }).max(1024, "is too long");
const ProfileForm = z.object({ name: z.string({ message: "is required" }).trim().min(1, "is required").max(200, "is too long") });
const EmailForm = z.object({
  email: z.string({ message: "is required" }).trim().max(320, "is too long").pipe(z.email({ message: "is not an email address" })),
  current_password: password,
});
const PasswordForm = z.object({ current_password: password, new_password: password });
const DeleteForm = z.object({ current_password: password });
const ExportForm = z.object({ current_password: password });
const tokenField = z.string({ message: "is required" }).regex(/^[A-Za-z0-9_-]{20,100}$/, "is not a link from our mail");
const LinkQuery = z.object({ token: tokenField });

export function accountSettingsRoutes(deps: Deps): Router {
  const router = Router();
  const actor = accountActor;
  const browser = (req: Request) => accountBrowser(deps, req);

  router.post("/account/profile", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(ProfileForm, req.body, "name form");
    respond(deps, req, res, await changeName(deps, { userId: req.session.userId!, name: form.name }));
  });

  router.post("/account/email", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(EmailForm, req.body, "email form");
    respond(deps, req, res, await requestEmailChange(deps, browser(req), { ...actor(req, res), email: form.email, currentPassword: form.current_password }));
  });

  router.get("/account/email/confirm", async (req: Request, res: Response) => {
    const { token } = parseInput(LinkQuery, req.query, "link");
    respond(deps, req, res, await emailConfirmPage(deps, token, req.session));
  });

  router.post("/account/email/confirm", deps.csrf.protect, async (req: Request, res: Response) => {
    const { token } = parseInput(LinkQuery, req.body, "confirmation form");
    respond(deps, req, res, await confirmEmailChange(deps, { token, session: req.session, lng: lngOf(res) }));
  });

  router.post("/account/password", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(PasswordForm, req.body, "password form");
    const input = { ...actor(req, res), sessionId: req.sessionID, currentPassword: form.current_password, newPassword: form.new_password };
    respond(deps, req, res, await changePassword(deps, browser(req), input));
  });

  router.post("/account/sign-out-everywhere", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    respond(deps, req, res, await signOutEverywhere(deps, sessionPort(deps, req, res), req.session.userId!));
  });

  router.post("/account/export", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(ExportForm, req.body, "export form");
    respond(deps, req, res, await downloadMyData(deps, browser(req), { ...actor(req, res), currentPassword: form.current_password }));
  });

  router.post("/account/delete", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(DeleteForm, req.body, "deletion form");
    const port = { ...browser(req), destroy: sessionPort(deps, req, res).destroy };
    respond(deps, req, res, await deleteAccount(deps, port, { ...actor(req, res), currentPassword: form.current_password }));
  });

  return router;
}
