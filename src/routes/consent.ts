// /consent — Hydra's consent step (flows/consent-step.ts), the page's answer and "Not you?"
// (flows/consent-decision.ts). GET /consent and the form's post load the browser's session
// themselves, when and as soon as the flow needs it (app.ts `deferred`).
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge, checkedForm } from "./deps";
import { parseInput } from "../middleware/validate";
import { lngOf, useAudienceBrand, useUiLocales } from "../middleware/page-locals";
import { ticketKey } from "../decisions/request-ticket";
import type { ConsentBrowser } from "../flows/consent-context";
import { consentStep } from "../flows/consent-step";
import { approveInOneStatement, consentDecision, switchAccount, type FormBrowser } from "../flows/consent-decision";
import { startBrowserSignOut, type EndingSession } from "../flows/sign-out";
import { respond } from "./respond";

const ConsentQuery = z.object({ consent_challenge: challenge });
const SwitchAccountForm = z.object({ consent_challenge: challenge });
/** A checkbox group: absent, one value or several (repeated fields), each a scope token. */
const scopeList = z
  .union([z.string().max(255), z.array(z.string().max(255)).max(100, "has too many values")])
  .optional()
  .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]));
const ConsentForm = z.object({
  consent_challenge: challenge,
  decision: z.enum(["allow", "deny"], { message: "must be allow or deny" }),
  /** The page's description of the consent request (decisions/request-ticket.ts); optional. */
  consent_ticket: z.string().max(16_384, "is too long").optional(),
  /** The optional scopes the page offered with a box, and those left ticked. */
  offered: scopeList,
  grant: scopeList,
  dont_ask_again: z.literal("1", { message: "must be 1 when present" }).optional(),
});
const choicesOf = (f: z.infer<typeof ConsentForm>) => ({ offered: f.offered, ticked: f.grant, dontAskAgain: f.dont_ask_again === "1" });

export function consentRoutes(deps: Deps): Router {
  const router = Router();
  const flowDeps = { ...deps, ticketKeys: deps.env.SESSION_SECRETS.map((secret) => ticketKey(secret, "consent")) };

  /** The browser as the flows see it: its session (loaded on demand), its flow marks, its form's CSRF token. */
  const browser = (req: Request, res: Response): FormBrowser & EndingSession => ({
    hasSession: () => !!req.session,
    userId: () => req.session.userId,
    answeredLogin: (loginSessionId) => deps.browser.answeredLogin(req, loginSessionId),
    loadSession: () => deps.loadSession(req, res),
    loadSessionWith: (read) => deps.loadSessionWith(req, res, read),
    submittedCsrf: () => deps.csrf.submitted(req),
    checkCsrf: (loaded) => deps.csrf.check(req, res, loaded),
    async end() {
      await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
      res.clearCookie(deps.env.SESSION_COOKIE_NAME);
    },
  });

  router.get("/consent", async (req: Request, res: Response) => {
    const { consent_challenge } = parseInput(ConsentQuery, req.query, "consent link");
    const pageSetup = (uiLocales: unknown, brand: Parameters<typeof useAudienceBrand>[1]) => {
      useUiLocales(req, res, uiLocales, deps.env);
      useAudienceBrand(res, brand);
      return lngOf(res);
    };
    respond(deps, req, res, await consentStep(flowDeps, { challenge: consent_challenge, browser: browser(req, res), pageSetup }));
  });

  router.post("/consent", async (req: Request, res: Response) => {
    // An approval whose form's ticket describes the request: one statement (approveInOneStatement).
    const approval = ConsentForm.safeParse(req.body);
    if (approval.success && approval.data.decision === "allow") {
      const f = approval.data;
      const approved = await approveInOneStatement(flowDeps, { challenge: f.consent_challenge, ticket: f.consent_ticket, browser: browser(req, res), choices: choicesOf(f) });
      if (approved) return respond(deps, req, res, approved);
    }
    // The session loads and the CSRF token is checked while Hydra describes the request.
    const { form, checked } = await checkedForm(deps, req, res, ConsentForm, "consent form");
    const answer = { challenge: form.consent_challenge, decision: form.decision, ticket: form.consent_ticket, checked, browser: browser(req, res), choices: choicesOf(form) };
    respond(deps, req, res, await consentDecision(flowDeps, answer));
  });

  router.post("/consent/switch-account", deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(SwitchAccountForm, req.body, "consent form");
    const done = await switchAccount(flowDeps, { challenge: form.consent_challenge, browser: browser(req, res) });
    startBrowserSignOut(res, deps.env, done.continueTo);
  });

  return router;
}
