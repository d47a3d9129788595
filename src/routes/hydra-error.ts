// /error — Hydra's error page (urls.error) is ours: an OAuth error that Hydra cannot send back to the
// client (e.g. an unknown client or a wrong redirect URI) is explained in plain words, with the
// technical details folded away and a way back. /signed-out — where a sign-out ends when the client
// gave no address of its own (urls.post_logout_redirect).
import { Router } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { explainOAuthError } from "../decisions/oauth-errors";
import { tOf } from "../middleware/page-locals";
import { SIGN_OUT_COOKIE, switchAccountTarget } from "../flows/sign-out";

const text = (max: number) => z.string().max(max).optional().catch(undefined);
const ErrorQuery = z.object({ error: text(100), error_description: text(2000), error_hint: text(2000) });

export function hydraErrorRoutes(deps: Deps): Router {
  const router = Router();

  router.get("/error", (req, res) => {
    const q = ErrorQuery.parse(req.query ?? {});
    const explained = explainOAuthError(q.error);
    res.status(400).render("oauth-error", {
      title: tOf(res)(explained.title),
      message: tOf(res)(explained.message),
      retry: explained.retry,
      code: q.error && /^[a-z_]{1,64}$/.test(q.error) ? q.error : null,
      details: [q.error_description, q.error_hint].filter(Boolean).join(" "),
    });
  });

  router.get("/signed-out", (req, res) => {
    // This browser's own sign-out is done; after "Not you? Use another account": on to the same
    // authorization request, with a fresh sign-in.
    const cookie = (req.cookies as Record<string, unknown> | undefined)?.[SIGN_OUT_COOKIE];
    if (cookie !== undefined) {
      res.clearCookie(SIGN_OUT_COOKIE, { path: "/" });
      const target = switchAccountTarget(cookie, deps.env.HYDRA_PUBLIC_URL);
      if (target) return res.redirect(303, target);
    }
    res.render("signed-out", { title: tOf(res)("common:signedOut.title") });
  });

  return router;
}
