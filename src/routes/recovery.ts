// /recovery — "Forgot password?" (flows/recovery.ts): the request form, the link by mail, the reset
// form the link opens, and the reset; a recovery begun inside an OAuth flow in this browser goes on
// with that flow, signed in (flows/sign-in.ts signInAfterRecovery).
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { msg } from "../i18n";
import { lngOf } from "../middleware/page-locals";
import { requestForm, requestLink, resetForm, resetPassword } from "../flows/recovery";
import type { BrowserSession } from "../flows/outcome";
import { wentOn } from "../flows/sign-in-step";
import { signInAfterRecovery } from "../flows/sign-in";
import { saveSession, signInBrowser } from "./browser";
import { signInDeps } from "./login";
import { respond } from "./respond";

const RecoveryQuery = z.object({ login_challenge: challenge.optional() });
const RecoveryForm = z.object({
  email: z.string({ message: "is required" }).trim().max(320, "is too long").pipe(z.email({ message: "is not an email address" })),
  login_challenge: challenge.optional(),
});
const tokenField = z.string({ message: "is required" }).regex(/^[A-Za-z0-9_-]{20,100}$/, "is not a link from our mail");
const ResetQuery = z.object({ token: tokenField });
const ResetForm = z.object({ token: tokenField, password: z.string({ message: "is required" }).max(1024, "is too long") });

export function recoveryRoutes(deps: Deps): Router {
  const router = Router();
  const signIn = signInDeps(deps);
  const session = (req: Request): BrowserSession<Request["session"]> => ({ data: req.session, save: () => saveSession(req) });

  router.get("/recovery", (req: Request, res: Response) => {
    const { login_challenge } = parseInput(RecoveryQuery, req.query, "link");
    respond(deps, req, res, requestForm({ loginChallenge: login_challenge }));
  });

  router.post("/recovery", deps.csrf.protect, async (req: Request, res: Response) => {
    const raw = req.body as Record<string, unknown>;
    const parsed = RecoveryForm.safeParse(raw);
    if (!parsed.success) {
      const loginChallenge = typeof raw.login_challenge === "string" ? raw.login_challenge : undefined;
      return respond(deps, req, res, requestForm({ loginChallenge, email: String(raw.email ?? ""), error: msg("recovery:request.invalidEmail"), status: 400 }));
    }
    const { email, login_challenge } = parsed.data;
    respond(deps, req, res, await requestLink(deps, { email, loginChallenge: login_challenge, ip: req.ip ?? "unknown", lng: lngOf(res), session: session(req) }));
  });

  router.get("/recovery/reset", async (req: Request, res: Response) => {
    const { token } = parseInput(ResetQuery, req.query, "password-reset link");
    respond(deps, req, res, await resetForm(deps, token));
  });

  router.post("/recovery/reset", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(ResetForm, req.body, "password-reset form");
    const done = await resetPassword(deps, { token: form.token, password: form.password, lng: lngOf(res), session: session(req) });
    if (done.kind !== "continue-sign-in") return respond(deps, req, res, done);
    // The flow the recovery began in goes on, signed in; when it cannot (expired, answered), the page.
    const resumed = signInAfterRecovery(signIn, signInBrowser(deps, req, res), done);
    respond(deps, req, res, (await wentOn(resumed)) ?? done.otherwise);
  });

  return router;
}
