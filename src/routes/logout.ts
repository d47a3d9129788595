// /logout — Hydra's logout step: confirm, accept, end the app's session.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { answerOnce, ensureNotHandled } from "../flows/challenges";
import { tOf } from "../middleware/page-locals";

const LogoutQuery = z.object({ logout_challenge: challenge });
const LogoutForm = z.object({
  logout_challenge: challenge,
  decision: z.enum(["logout", "stay"], { message: "must be logout or stay" }),
});

/**
 * Set when this browser itself asked to sign out ("Sign out" on /account; "Not you? Use another
 * account" on the consent page, then holding the authorization request to start again with
 * prompt=login). While it is set, the logout at Hydra that follows is answered without asking, and
 * /signed-out continues to that request if there is one.
 *
 * Signing out goes through Hydra's own logout endpoint, never only through the admin API: a login
 * session revoked by the admin API leaves the browser's Hydra cookie naming it, and Hydra v2.3.0
 * then fails the browser's next sign-in without "stay signed in" ("The error is unrecognizable":
 * it tries to delete the session the cookie names, which is gone).
 */
export const SIGN_OUT_COOKIE = "signing_out";

/** Starts this browser's own sign-out at Hydra (see SIGN_OUT_COOKIE); `restart`: the request to continue with. */
export function startBrowserSignOut(res: Response, env: Pick<Deps["env"], "COOKIE_SECURE" | "HYDRA_PUBLIC_URL">, restart: string | null): void {
  res.cookie(SIGN_OUT_COOKIE, restart ?? "", { httpOnly: true, secure: env.COOKIE_SECURE, sameSite: "lax", path: "/", maxAge: 10 * 60 * 1000 });
  res.redirect(303, `${env.HYDRA_PUBLIC_URL}/oauth2/sessions/logout`);
}

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
    if (typeof req.cookies?.[SIGN_OUT_COOKIE] === "string" && !logoutRequest.rp_initiated) {
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
