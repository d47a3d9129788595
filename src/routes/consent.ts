// /consent — Hydra's consent step.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { decideConsent } from "../decisions/consent";
import { answerOnce, ensureNotHandled } from "./challenges";
import type { OAuth2ConsentRequest } from "../services/hydra";

const ConsentQuery = z.object({ consent_challenge: challenge });
const ConsentForm = z.object({
  consent_challenge: challenge,
  decision: z.enum(["allow", "deny"], { message: "must be allow or deny" }),
});

export function consentRoutes(deps: Deps): Router {
  const { hydra, store } = deps;
  const router = Router();

  function decide(consentRequest: OAuth2ConsentRequest) {
    return decideConsent({
      skip: consentRequest.skip ?? false,
      requestedScopes: consentRequest.requested_scope ?? [],
      requestedAudiences: consentRequest.requested_access_token_audience ?? [],
    });
  }

  router.get("/consent", async (req: Request, res: Response) => {
    const { consent_challenge } = parseInput(ConsentQuery, req.query, "consent link");
    await ensureNotHandled(store, "consent", consent_challenge);
    const consentRequest = await hydra.getConsentRequest(consent_challenge);
    const step = decide(consentRequest);
    if (step.kind === "accept") {
      const redirectTo = await answerOnce(store, "consent", consent_challenge, () =>
        hydra.acceptConsent(consent_challenge, { grant_scope: step.grantScope, grant_access_token_audience: step.grantAudience }),
      );
      return res.redirect(303, redirectTo);
    }
    const clientId = consentRequest.client?.client_id ?? "";
    const membership = clientId ? await store.getClientMembership(clientId) : null;
    res.render("consent", {
      title: "Allow access",
      csrfToken: deps.csrf.token(req),
      challenge: consent_challenge,
      clientName: consentRequest.client?.client_name || clientId,
      audienceName: membership?.audience.displayName ?? null,
      scopes: step.scopes,
    });
  });

  router.post("/consent", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(ConsentForm, req.body, "consent form");
    await ensureNotHandled(store, "consent", form.consent_challenge);
    const consentRequest = await hydra.getConsentRequest(form.consent_challenge);
    if (form.decision === "deny") {
      const redirectTo = await answerOnce(store, "consent", form.consent_challenge, () =>
        hydra.rejectConsent(form.consent_challenge, "access_denied", "The user denied the request."),
      );
      return res.redirect(303, redirectTo);
    }
    const requestedScopes = [...new Set(consentRequest.requested_scope ?? [])];
    const redirectTo = await answerOnce(store, "consent", form.consent_challenge, () =>
      hydra.acceptConsent(form.consent_challenge, {
        grant_scope: requestedScopes,
        grant_access_token_audience: consentRequest.requested_access_token_audience ?? [],
        remember: false,
      }),
    );
    res.redirect(303, redirectTo);
  });

  return router;
}
