// /logout — Hydra's logout step: confirm, accept, end the app's session.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { answerOnce, ensureNotHandled } from "./challenges";
import { tOf } from "../middleware/page-locals";

const LogoutQuery = z.object({ logout_challenge: challenge });
const LogoutForm = z.object({
  logout_challenge: challenge,
  decision: z.enum(["logout", "stay"], { message: "must be logout or stay" }),
});

/**
 * Set by "Not you? Use another account" on the consent page: the authorization request to start
 * again (prompt=login) once this browser is signed out. While it is set, the browser-initiated
 * logout that follows is answered without asking, and /signed-out continues to that request.
 */
export const SWITCH_ACCOUNT_COOKIE = "switch_account";

/** The authorization request to continue with after a "Not you?" sign-out: only Hydra's own authorization endpoint. */
export function switchAccountTarget(value: unknown, hydraPublicUrl: string): string | null {
  if (typeof value !== "string" || !value.startsWith(`${hydraPublicUrl}/oauth2/auth?`)) return null;
  return value;
}

export function logoutRoutes(deps: Deps): Router {
  const { hydra, store } = deps;
  const router = Router();

  router.get("/logout", async (req: Request, res: Response) => {
    const { logout_challenge } = parseInput(LogoutQuery, req.query, "sign-out link");
    await ensureNotHandled(store, "logout", logout_challenge, hydra);
    const logoutRequest = await hydra.getLogoutRequest(logout_challenge);
    // The browser itself asked to sign out a moment ago ("Not you?" on the consent page; not an application).
    if (typeof req.cookies?.[SWITCH_ACCOUNT_COOKIE] === "string" && !logoutRequest.rp_initiated) {
      const redirectTo = await answerOnce(store, "logout", logout_challenge, () => hydra.acceptLogout(logout_challenge));
      await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
      res.clearCookie(deps.env.SESSION_COOKIE_NAME);
      return res.redirect(303, redirectTo);
    }
    res.render("logout", {
      title: tOf(res)("common:logout.title"),
      csrfToken: deps.csrf.token(req),
      challenge: logout_challenge,
      clientName: logoutRequest.client?.client_name || logoutRequest.client?.client_id || null,
    });
  });

  router.post("/logout", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(LogoutForm, req.body, "sign-out form");
    await ensureNotHandled(store, "logout", form.logout_challenge, hydra);
    if (form.decision === "stay") {
      await answerOnce(store, "logout", form.logout_challenge, () => hydra.rejectLogout(form.logout_challenge));
      return res.render("message", { title: tOf(res)("common:logout.stillTitle"), message: tOf(res)("common:logout.still") });
    }
    const redirectTo = await answerOnce(store, "logout", form.logout_challenge, () => hydra.acceptLogout(form.logout_challenge));
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    res.clearCookie(deps.env.SESSION_COOKIE_NAME);
    res.redirect(303, redirectTo);
  });

  return router;
}
