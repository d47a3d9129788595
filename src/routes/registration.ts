// /registration — sign-up during Hydra's login step, governed by the audience's registration mode.
// /invitation — an invitation link opened outside an OAuth flow: explains what to do next and
// keeps the code in the session for the registration that follows.
// /password-strength — live feedback on a new password while it is typed (public/strength.js).
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { ensureNotHandled } from "../flows/challenges";
import { challengeDigest, checkInboxPage, finishSignIn } from "../flows/sign-in-step";
import { regenerateSession, saveSession, signInBrowser } from "./browser";
import { respond } from "./respond";
import { queueAccountExistsMail, queueVerificationMail } from "../flows/mail-links";
import { mailDateTime } from "../services/mail";
import { checkInvitation, decideRegistration, invitationProblem, registrationMode, type InvitationCheck, type RegistrationMode } from "../decisions/registration";
import { hashPassword, verifyPassword, passwordProblem, passwordStrength, personalInputs, zxcvbnFeedback, PASSWORD_MIN_LENGTH } from "../services/passwords";
import { EmailTakenError, InvitationRedeemedError, normalizeEmail, type Audience, type User } from "../services/store";
import type { OAuth2LoginRequest } from "../services/hydra";
import { limitPerIp, tooManyAttempts } from "../middleware/rate-limit";
import { msg, say, type Msg } from "../i18n";
import { lngOf, tOf, useAudienceBrand, useUiLocales } from "../middleware/page-locals";
import { uiLocalesOf } from "../decisions/login";


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

type FormField = "name" | "email" | "password" | "invitation";
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

interface Flow {
  loginRequest: OAuth2LoginRequest;
  clientName: string;
  audience: Audience;
  mode: RegistrationMode;
}

export function registrationRoutes(deps: Deps): Router {
  const { hydra, store, env } = deps;
  const router = Router();

  async function loadFlow(req: Request, res: Response, loginChallenge: string): Promise<Flow> {
    await ensureNotHandled(store, "login", loginChallenge, hydra);
    const loginRequest = await hydra.getLoginRequest(loginChallenge);
    // The page follows the application's ui_locales, like the sign-in page.
    useUiLocales(req, res, uiLocalesOf(loginRequest), env);
    const clientId = loginRequest.client.client_id ?? "";
    const membership = clientId ? await store.getClientMembership(clientId) : null;
    const clientName = loginRequest.client.client_name || clientId;
    if (!membership) {
      throw new AppError(403, "client_without_audience", msg("registration:notSetUp.message", { client: clientName }), { title: msg("registration:notSetUp.title") });
    }
    // The audience's own name and logo (audience config `brand: { name, logo }`), when it has them.
    useAudienceBrand(res, membership.audience);
    return { loginRequest, clientName, audience: membership.audience, mode: registrationMode(membership.audience) };
  }

  function closed(flow: Flow): AppError {
    return new AppError(403, "registration_closed", msg("registration:closed.message", { audience: flow.audience.displayName }), { title: msg("registration:closed.title") });
  }

  /** Re-shows the form with every field but the password; the error is tied to its field, which gets the focus. */
  function renderForm(req: Request, res: Response, flow: Flow, extra: { status?: number; error?: Msg | Msg[]; errorField?: FormField | null; email?: string; name?: string; invitation?: string } = {}) {
    const t = tOf(res);
    const errors = extra.error === undefined ? [] : Array.isArray(extra.error) ? extra.error : [extra.error];
    res.status(extra.status ?? 200).render("registration", {
      title: t("registration:title"),
      csrfToken: deps.csrf.token(req),
      challenge: flow.loginRequest.challenge,
      clientName: flow.clientName,
      audienceName: flow.audience.displayName,
      mode: flow.mode,
      passwordMinLength: PASSWORD_MIN_LENGTH,
      email: extra.email ?? "",
      name: extra.name ?? "",
      invitation: extra.invitation ?? "",
      error: errors.length ? errors.map((m) => say(t, m)).join(" ") : null,
      errorField: errors.length ? (extra.errorField ?? null) : null,
    });
  }

  /** Notes in this browser's session which account this flow created (until Hydra has been answered). */
  function rememberSignUp(req: Request, loginChallenge: string, userId: string): Promise<void> {
    req.session.pendingSignUp = { challenge: challengeDigest(loginChallenge), userId };
    return saveSession(req);
  }

  /** The account this browser created earlier in this very flow, when the password matches. */
  async function resumableSignUp(req: Request, loginChallenge: string, email: string, password: string) {
    const pending = req.session.pendingSignUp;
    if (!pending || pending.challenge !== challengeDigest(loginChallenge)) return null;
    const user = await store.findUserByEmail(email);
    if (!user || user.id !== pending.userId) return null;
    return (await verifyPassword(user.passwordHash, password)) ? user : null;
  }

  /**
   * Continues the flow as the new account: an address not yet verified holds the step on "check your
   * inbox" (whatever the audience says: a sign-up with a taken address must look the same); one an
   * invitation vouched for goes on. A new session either way: the invitation code is gone.
   */
  async function finishSignUp(req: Request, res: Response, flow: Flow, loginChallenge: string, user: User) {
    const done = await finishSignIn(deps, signInBrowser(deps, req, res), {
      loginChallenge,
      loginSessionId: flow.loginRequest.session_id,
      user,
      audience: flow.audience,
      remember: false,
      startSession: true,
      requireVerified: true,
      keep: { pendingSignUp: req.session.pendingSignUp },
    });
    respond(deps, req, res, done);
  }

  /**
   * A sign-up with an address that already has an account answers exactly like a new one ("check
   * your inbox", same page, same session hand-over, about the same work); the owner gets a mail that
   * someone tried. Nothing about the existing account changes, and nothing here can complete.
   */
  async function answerLikeNewSignUp(req: Request, res: Response, flow: Flow, loginChallenge: string, typedEmail: string) {
    const email = typedEmail.trim();
    const owner = await store.findUserByEmail(email);
    if (owner && (await deps.limits.consume("verificationMail", `sign-up-taken:${normalizeEmail(email)}`)).allowed) {
      await store.transaction((tx) => queueAccountExistsMail(tx, env, owner, lngOf(res)));
      deps.mailer.kick();
    }
    await regenerateSession(req, {
      // This browser's own earlier sign-up in this flow stays resumable with its password.
      pendingSignUp: req.session.pendingSignUp,
      pendingLogin: {
        challenge: challengeDigest(loginChallenge),
        userId: "",
        remember: false,
        startSession: true,
        loginSessionId: flow.loginRequest.session_id,
        requireVerified: true,
        decoy: { email, codeTries: 0 },
      },
    });
    deps.logger.info({ event: "registration_existing_address", audience: flow.audience.id }, "sign-up with an address that has an account");
    respond(deps, req, res, checkInboxPage({ email, audienceName: flow.audience.displayName, loginChallenge }));
  }

  router.get("/registration", async (req: Request, res: Response) => {
    const query = parseInput(RegistrationQuery, req.query, "registration link");
    const flow = await loadFlow(req, res, query.login_challenge);
    if (flow.mode === "closed") throw closed(flow);
    renderForm(req, res, flow, { invitation: query.invitation || req.session.invitationCode || "" });
  });

  const registrationLimit = limitPerIp(deps.limits, "registrationIp", msg("registration:tooMany"));
  const invitationLimit = limitPerIp(deps.limits, "invitationIp", msg("registration:tooManyInvitations"));

  router.post("/registration", deps.csrf.protect, registrationLimit, async (req: Request, res: Response) => {
    const { login_challenge } = parseInput(RegistrationChallenge, req.body, "registration form");
    const flow = await loadFlow(req, res, login_challenge);
    if (flow.mode === "closed") throw closed(flow);

    const raw = req.body as Record<string, unknown>;
    const keep = { email: String(raw.email ?? ""), name: String(raw.name ?? ""), invitation: String(raw.invitation ?? "") };
    const parsed = RegistrationFields.safeParse(raw);
    if (!parsed.success) {
      const error = parsed.error.issues.map(fieldProblem);
      const first = String(parsed.error.issues[0]?.path[0] ?? "");
      return renderForm(req, res, flow, { status: 400, error, errorField: isFormField(first) ? first : null, ...keep });
    }
    const form = parsed.data;
    const email = normalizeEmail(form.email);

    // This browser already created the account earlier in this very flow, and answering Hydra failed
    // then: the same email and password continue the flow (instead of "already exists").
    const earlier = await resumableSignUp(req, login_challenge, email, form.password);
    if (earlier) return finishSignUp(req, res, flow, login_challenge, earlier);

    let check: InvitationCheck = { status: "none" };
    let invitationId: string | null = null;
    if (form.invitation) {
      const invitation = await store.findInvitation(form.invitation);
      check = checkInvitation(invitation, { audienceId: flow.audience.id, email, now: new Date() });
      if (check.status === "valid") invitationId = invitation!.id;
    }
    const decision = decideRegistration(flow.mode, check, flow.audience.displayName);
    if (decision.kind === "refuse") {
      deps.logger.info({ event: "registration_refused", reason: decision.reason, audience: flow.audience.id }, "registration refused");
      return renderForm(req, res, flow, { status: decision.status, error: decision.message, errorField: flow.mode !== "open" ? "invitation" : null, ...keep });
    }
    const weak = passwordProblem(form.password, personalInputs(form.email, form.name), lngOf(res));
    if (weak) return renderForm(req, res, flow, { status: 400, error: weak, errorField: "password", ...keep });

    let user;
    try {
      user = await store.registerUser(
        // Self sign-up: pending until the address is confirmed, unless an email-bound invitation vouched for it.
        { email: form.email, name: form.name, passwordHash: await hashPassword(form.password), emailVerified: decision.emailVerified, pending: !decision.emailVerified },
        decision.useInvitation ? invitationId : null,
        // The verification mail is written with the account (outbox): no account without its mail.
        decision.emailVerified ? undefined : (tx, created) => queueVerificationMail(tx, env, created, lngOf(res)),
      );
    } catch (err) {
      if (err instanceof EmailTakenError) return answerLikeNewSignUp(req, res, flow, login_challenge, form.email);
      if (err instanceof InvitationRedeemedError) {
        return renderForm(req, res, flow, { status: 400, error: invitationProblem("used", flow.audience.displayName), errorField: "invitation", ...keep });
      }
      throw err;
    }
    await rememberSignUp(req, login_challenge, user.id);
    deps.logger.info({ event: "registered", subject: user.id, audience: flow.audience.id, invitation: decision.useInvitation }, "user registered");
    deps.mailer.kick();
    return finishSignUp(req, res, flow, login_challenge, user);
  });

  router.get("/invitation", invitationLimit, async (req: Request, res: Response) => {
    const { code } = parseInput(InvitationQuery, req.query, "invitation link");
    const invitation = await store.findInvitation(code);
    const check = checkInvitation(invitation, { audienceId: null, email: null, now: new Date() });
    if (check.status !== "valid") {
      const status = check.status === "unknown" ? 404 : 410;
      const problem = check.status === "none" ? "unknown" : check.status;
      throw new AppError(status, `invitation_${problem}`, invitationProblem(problem as Exclude<InvitationCheck["status"], "valid" | "none">, invitation?.audience.displayName ?? ""), {
        title: msg("registration:invitationPage.errorTitle"),
      });
    }
    const audience = invitation!.audience;
    const accepted = audience.invitationEnabled;
    if (accepted) req.session.invitationCode = code;
    res.render("invitation", {
      title: tOf(res)("registration:invitationPage.title", { audience: audience.displayName }),
      audienceName: audience.displayName,
      startUrl: audience.startUrl,
      boundEmail: invitation!.email,
      expiresAt: invitation!.expiresAt,
      // In UTC naming the zone (the page's script shows it in local time). Not formatDateTime from
      // src/i18n.ts for now: Intl refuses its dateStyle/timeStyle together with timeZoneName (TypeError).
      expiresText: mailDateTime(invitation!.expiresAt, lngOf(res)),
      accepted,
    });
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
