// /logout — Hydra's logout step (flows/sign-out.ts): confirm, accept, end the app's session.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { logoutDecision, logoutStep, SIGN_OUT_COOKIE, type EndingSession } from "../flows/sign-out";
import { respond } from "./respond";

const LogoutQuery = z.object({ logout_challenge: challenge });
const LogoutForm = z.object({
  logout_challenge: challenge,
  decision: z.enum(["logout", "stay"], { message: "must be logout or stay" }),
});

export function logoutRoutes(deps: Deps): Router {
  const router = Router();
  const session = (req: Request, res: Response): EndingSession => ({
    async end() {
      await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
      res.clearCookie(deps.env.SESSION_COOKIE_NAME);
    },
  });

  router.get("/logout", async (req: Request, res: Response) => {
    const { logout_challenge } = parseInput(LogoutQuery, req.query, "sign-out link");
    const signingOut = typeof req.cookies?.[SIGN_OUT_COOKIE] === "string";
    respond(deps, req, res, await logoutStep(deps, { challenge: logout_challenge, signingOut, session: session(req, res) }));
  });

  router.post("/logout", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(LogoutForm, req.body, "sign-out form");
    respond(deps, req, res, await logoutDecision(deps, { challenge: form.logout_challenge, decision: form.decision, session: session(req, res) }));
  });

  return router;
}
