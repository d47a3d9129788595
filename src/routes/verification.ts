// /verification — confirming an email address with the link or the short code from the mail, and
// asking for a new mail (flows/verification.ts). A confirmation in the browser whose sign-in waits
// for it goes on with that sign-in (flows/sign-in.ts resumeHeldSignIn).
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { lngOf } from "../middleware/page-locals";
import { confirmCode, confirmLink, linkPage, resendMail, type VerificationDone } from "../flows/verification";
import { wentOn } from "../flows/sign-in-step";
import { resumeHeldSignIn } from "../flows/sign-in";
import { pageLook, saveSession, signInBrowser } from "./browser";
import { respond } from "./respond";
import { signInDeps } from "./login";

const tokenField = z.string({ message: "is required" }).regex(/^[A-Za-z0-9_-]{20,100}$/, "is not a link from our mail");
const LinkQuery = z.object({ token: tokenField.optional() });
const ConfirmForm = z.object({ token: tokenField });
const CodeForm = z.object({ code: z.string({ message: "is required" }).trim().max(20), login_challenge: challenge.optional() });
const ResendForm = z.object({ login_challenge: challenge.optional() });

export function verificationRoutes(deps: Deps): Router {
  const router = Router();
  const signIn = signInDeps(deps);

  /** The page, or the held sign-in going on (when it cannot and there is a page for that, the page). */
  async function answer(req: Request, res: Response, done: VerificationDone): Promise<void> {
    if (done.kind !== "resume-sign-in") return respond(deps, req, res, done);
    const resumed = resumeHeldSignIn(signIn, pageLook(deps, req, res), signInBrowser(deps, req, res), done.loginChallenge);
    respond(deps, req, res, done.otherwise ? ((await wentOn(resumed)) ?? done.otherwise) : await resumed);
  }

  router.get("/verification", async (req: Request, res: Response) => {
    const { token } = parseInput(LinkQuery, req.query, "confirmation link");
    respond(deps, req, res, await linkPage(deps, req.session, token));
  });

  router.post("/verification", deps.csrf.protect, async (req: Request, res: Response) => {
    const { token } = parseInput(ConfirmForm, req.body, "confirmation form");
    await answer(req, res, await confirmLink(deps, req.session, token));
  });

  router.post("/verification/code", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(CodeForm, req.body, "code form");
    const session = { data: req.session, save: () => saveSession(req) };
    await answer(req, res, await confirmCode(deps, { code: form.code, loginChallenge: form.login_challenge, ip: req.ip ?? "", session }));
  });

  router.post("/verification/resend", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(ResendForm, req.body, "form");
    respond(deps, req, res, await resendMail(deps, { loginChallenge: form.login_challenge, lng: lngOf(res), session: req.session }));
  });

  return router;
}
