// /registration — sign-up during Hydra's login step, governed by the audience's registration mode.
// /invitation — an invitation link opened outside an OAuth flow: explains what to do next and
// keeps the code in the session for the registration that follows.
// /password-strength — live feedback on a new password while it is typed (public/strength.js).
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { ensureOpen, invitationPage, loadRegistration, register, registrationForm, type FormField } from "../flows/registration";
import { passwordStrength, personalInputs, zxcvbnFeedback } from "../services/passwords";
import { limitPerIp, tooManyAttempts } from "../middleware/rate-limit";
import { msg, say, type Msg } from "../i18n";
import { lngOf, tOf } from "../middleware/page-locals";
import { pageLook, signInBrowser } from "./browser";
import { respond } from "./respond";


// Issue messages name the problem (registration:invalid.<field>.<problem>).
const invitationCode = z.string().trim().max(200, "tooLong").regex(/^[A-Za-z0-9_-]*$/, "notInvitation");
const RegistrationQuery = z.object({ login_challenge: challenge, invitation: invitationCode.optional() });
const RegistrationChallenge = z.object({ login_challenge: challenge });
const RegistrationFields = z.object({
  email: z.string({ message: "required" }).trim().max(320, "tooLong").pipe(z.email({ message: "notEmail" })),
  name: z.string({ message: "required" }).trim().min(1, "required").max(200, "tooLong"),
  password: z.string({ message: "required" }).max(1024, "tooLong"),
  invitation: invitationCode.optional().transform((v) => v || undefined),
});
const InvitationQuery = z.object({ code: z.string({ message: "is required" }).regex(/^[A-Za-z0-9_-]{16,200}$/, "is not an invitation code") });
const StrengthForm = z.object({
  password: z.string().max(1024).default(""),
  email: z.string().max(320).default(""),
  name: z.string().max(200).default(""),
});

const isFormField = (f: string): f is FormField => f === "name" || f === "email" || f === "password" || f === "invitation";

const FIELD_PROBLEMS: Record<FormField, readonly string[]> = {
  email: ["required", "tooLong", "notEmail"],
  name: ["required", "tooLong"],
  password: ["required", "tooLong"],
  invitation: ["tooLong", "notInvitation"],
};

/** One form issue in words: "Email is not an email address." (registration:invalid.*). */
function fieldProblem(issue: { path: readonly PropertyKey[]; message: string }): Msg {
  const field = String(issue.path[0] ?? "");
  // Every issue of RegistrationFields is about one of its fields.
  if (!isFormField(field)) return msg("errors:input.wrong", { what: msg("errors:what.registration form"), fields: [msg("errors:field.other")] });
  if (FIELD_PROBLEMS[field].includes(issue.message)) return msg(`registration:invalid.${field}.${issue.message}`);
  return msg("registration:invalid.other", { field: msg(`registration:label.${field}`) });
}

export function registrationRoutes(deps: Deps): Router {
  const router = Router();

  router.get("/registration", async (req: Request, res: Response) => {
    const query = parseInput(RegistrationQuery, req.query, "registration link");
    const reg = await loadRegistration(deps, pageLook(deps, req, res), query.login_challenge);
    ensureOpen(reg);
    respond(deps, req, res, registrationForm(reg, { invitation: query.invitation || req.session.invitationCode || "" }));
  });

  const registrationLimit = limitPerIp(deps.limits, "registrationIp", msg("registration:tooMany"));
  const invitationLimit = limitPerIp(deps.limits, "invitationIp", msg("registration:tooManyInvitations"));

  router.post("/registration", deps.csrf.protect, registrationLimit, async (req: Request, res: Response) => {
    const { login_challenge } = parseInput(RegistrationChallenge, req.body, "registration form");
    const reg = await loadRegistration(deps, pageLook(deps, req, res), login_challenge);
    ensureOpen(reg);

    const raw = req.body as Record<string, unknown>;
    const keep = { email: String(raw.email ?? ""), name: String(raw.name ?? ""), invitation: String(raw.invitation ?? "") };
    const parsed = RegistrationFields.safeParse(raw);
    if (!parsed.success) {
      const t = tOf(res);
      const error = parsed.error.issues.map((issue) => say(t, fieldProblem(issue))).join(" ");
      const first = String(parsed.error.issues[0]?.path[0] ?? "");
      return respond(deps, req, res, registrationForm(reg, { status: 400, error, errorField: isFormField(first) ? first : null, ...keep }));
    }
    const form = parsed.data;
    const done = await register(deps, signInBrowser(deps, req, res), reg, { loginChallenge: login_challenge, ...form, lng: lngOf(res), keep });
    respond(deps, req, res, done);
  });

  router.get("/invitation", invitationLimit, async (req: Request, res: Response) => {
    const { code } = parseInput(InvitationQuery, req.query, "invitation link");
    respond(deps, req, res, await invitationPage(deps, req.session, code, lngOf(res)));
  });

  // Live feedback while a new password is typed (public/strength.js on the sign-up, reset and account
  // pages): the same judgement as the forms, in the page's language. The password is never logged.
  // Counted per IP in the shared store like every limit (one upsert per check; the script waits for a pause in typing).
  router.post("/password-strength", deps.csrf.protect, async (req: Request, res: Response) => {
    const limit = await deps.limits.consume("passwordCheckIp", req.ip ?? "unknown");
    if (!limit.allowed) throw tooManyAttempts(msg("registration:strength.tooMany"), limit.retryAfterSeconds);
    const parsed = StrengthForm.safeParse(req.body ?? {});
    res.setHeader("Cache-Control", "no-store");
    if (!parsed.success) return res.status(400).json({ error: "invalid_input" });
    const { password, email, name } = parsed.data;
    const strength = passwordStrength(password, personalInputs(email.trim(), name.trim()));
    const t = tOf(res);
    const feedback = strength.acceptable
      ? [t("registration:strength.good")]
      : [say(t, strength.rule ?? msg("registration:password.tooEasy")), ...zxcvbnFeedback(strength.feedback, lngOf(res))];
    res.json({ acceptable: strength.acceptable, score: strength.score, feedback });
  });

  return router;
}
