// /account — the signed-in user's consents per audience, and revoking one.
import { Router, type Request, type Response, type NextFunction } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { AUDIENCE_ID_PATTERN } from "../config/audiences";

const RevokeForm = z.object({
  audience: z.string({ message: "is required" }).max(255).regex(AUDIENCE_ID_PATTERN, "is not an audience identifier"),
});

function requireUser(req: Request, _res: Response, next: NextFunction): void {
  if (!req.session.userId) {
    return next(new AppError(401, "not_signed_in", "You are not signed in. Sign in through one of the applications first, then come back to this page.", { title: "Not signed in" }));
  }
  next();
}

export function accountRoutes(deps: Deps): Router {
  const { store, hydra } = deps;
  const router = Router();

  router.get("/account", requireUser, async (req: Request, res: Response) => {
    const userId = req.session.userId!;
    const user = await store.getUser(userId);
    if (!user) throw new AppError(401, "not_signed_in", "Your account no longer exists.", { title: "Not signed in" });
    res.render("account", {
      title: "Your account",
      csrfToken: deps.csrf.token(req),
      email: user.email,
      consents: await store.listConsents(userId),
      revoked: typeof req.query.revoked === "string" ? req.query.revoked : null,
    });
  });

  router.post("/account/consents/revoke", requireUser, deps.csrf.protect, async (req: Request, res: Response) => {
    const userId = req.session.userId!;
    const form = parseInput(RevokeForm, req.body, "revocation form");
    const audience = await store.getAudience(form.audience);
    if (!audience) throw new AppError(404, "unknown_audience", `There is no audience "${form.audience}".`);
    // Hydra first: if it fails, nothing is deleted and the user can simply retry.
    for (const clientId of await store.listAudienceClientIds(audience.id)) {
      await hydra.revokeConsentSessions(userId, clientId);
    }
    await store.revokeConsent(userId, audience.id);
    deps.logger.info({ event: "consent_revoked", subject: userId, audience: audience.id }, "consent revoked");
    res.redirect(303, `/account?revoked=${encodeURIComponent(audience.id)}`);
  });

  return router;
}
