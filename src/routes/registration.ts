// /registration — sign-up during Hydra's login step, governed by the audience's registration mode.
// /invitation — an invitation link opened outside an OAuth flow: explains what to do next and
// keeps the code in the session for the registration that follows.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge } from "./deps";
import { parseInput } from "../middleware/validate";
import { AppError } from "../errors";
import { ensureNotHandled } from "./challenges";
import { challengeDigest, finishLogin, regenerateSession, renderCheckInbox, saveSession } from "./login-step";
import { queueAccountExistsMail, queueVerificationMail } from "./verification";
import { checkInvitation, decideRegistration, invitationProblem, registrationMode, type InvitationCheck, type RegistrationMode } from "../decisions/registration";
import { hashPassword, verifyPassword, passwordProblem, personalInputs, PASSWORD_MIN_LENGTH } from "../services/passwords";
import { EmailTakenError, InvitationRedeemedError, normalizeEmail, type Audience, type User } from "../services/store";
import type { OAuth2LoginRequest } from "../services/hydra";
import { limitPerIp } from "../middleware/rate-limit";


const invitationCode = z.string().trim().max(200, "is too long").regex(/^[A-Za-z0-9_-]*$/, "is not an invitation code");
const RegistrationQuery = z.object({ login_challenge: challenge, invitation: invitationCode.optional() });
const RegistrationChallenge = z.object({ login_challenge: challenge });
const RegistrationFields = z.object({
  email: z.string({ message: "is required" }).trim().max(320, "is too long").pipe(z.email({ message: "is not an email address" })),
  name: z.string({ message: "is required" }).trim().min(1, "is required").max(200, "is too long"),
  password: z.string({ message: "is required" }).max(1024, "is too long"),
  invitation: invitationCode.optional().transform((v) => v || undefined),
});
const InvitationQuery = z.object({ code: z.string({ message: "is required" }).regex(/^[A-Za-z0-9_-]{16,200}$/, "is not an invitation code") });

type FormField = "name" | "email" | "password" | "invitation";
const isFormField = (f: string): f is FormField => f === "name" || f === "email" || f === "password" || f === "invitation";

const FIELD_LABELS: Record<string, string> = { email: "Email", name: "Name", password: "Password", invitation: "Invitation code" };

interface Flow {
  loginRequest: OAuth2LoginRequest;
  clientName: string;
  audience: Audience;
  mode: RegistrationMode;
}

export function registrationRoutes(deps: Deps): Router {
  const { hydra, store, env } = deps;
  const router = Router();

  async function loadFlow(loginChallenge: string): Promise<Flow> {
    await ensureNotHandled(store, "login", loginChallenge, hydra);
    const loginRequest = await hydra.getLoginRequest(loginChallenge);
    const clientId = loginRequest.client.client_id ?? "";
    const membership = clientId ? await store.getClientMembership(clientId) : null;
    const clientName = loginRequest.client.client_name || clientId;
    if (!membership) {
      throw new AppError(403, "client_without_audience", `${clientName} is not set up for registration here (it belongs to no audience).`, { title: "Application not set up" });
    }
    return { loginRequest, clientName, audience: membership.audience, mode: registrationMode(membership.audience) };
  }

  function closed(flow: Flow): AppError {
    return new AppError(403, "registration_closed", `Registration is closed for ${flow.audience.displayName}.`, { title: "Registration closed" });
  }

  /** Re-shows the form with every field but the password; the error is tied to its field, which gets the focus. */
  function renderForm(req: Request, res: Response, flow: Flow, extra: { status?: number; error?: string; errorField?: FormField | null; email?: string; name?: string; invitation?: string } = {}) {
    res.status(extra.status ?? 200).render("registration", {
      title: "Create account",
      csrfToken: deps.csrf.token(req),
      challenge: flow.loginRequest.challenge,
      clientName: flow.clientName,
      audienceName: flow.audience.displayName,
      mode: flow.mode,
      passwordMinLength: PASSWORD_MIN_LENGTH,
      email: extra.email ?? "",
      name: extra.name ?? "",
      invitation: extra.invitation ?? "",
      error: extra.error ?? null,
      errorField: extra.error ? (extra.errorField ?? null) : null,
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
  function finishSignUp(req: Request, res: Response, flow: Flow, loginChallenge: string, user: User) {
    return finishLogin(deps, req, res, {
      loginChallenge,
      loginSessionId: flow.loginRequest.session_id,
      user,
      audience: flow.audience,
      remember: false,
      startSession: true,
      requireVerified: true,
      keep: { pendingSignUp: req.session.pendingSignUp },
    });
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
      await store.transaction((tx) => queueAccountExistsMail(tx, env, owner));
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
    renderCheckInbox(deps, req, res, { email, audienceName: flow.audience.displayName, loginChallenge });
  }

  router.get("/registration", async (req: Request, res: Response) => {
    const query = parseInput(RegistrationQuery, req.query, "registration link");
    const flow = await loadFlow(query.login_challenge);
    if (flow.mode === "closed") throw closed(flow);
    renderForm(req, res, flow, { invitation: query.invitation || req.session.invitationCode || "" });
  });

  const registrationLimit = limitPerIp(deps.limits, "registrationIp", "Too many registration attempts from your network. Please try again later.");
  const invitationLimit = limitPerIp(deps.limits, "invitationIp", "Too many invitation links opened from your network. Please try again later.");

  router.post("/registration", deps.csrf.protect, registrationLimit, async (req: Request, res: Response) => {
    const { login_challenge } = parseInput(RegistrationChallenge, req.body, "registration form");
    const flow = await loadFlow(login_challenge);
    if (flow.mode === "closed") throw closed(flow);

    const raw = req.body as Record<string, unknown>;
    const keep = { email: String(raw.email ?? ""), name: String(raw.name ?? ""), invitation: String(raw.invitation ?? "") };
    const parsed = RegistrationFields.safeParse(raw);
    if (!parsed.success) {
      const error = parsed.error.issues.map((i) => `${FIELD_LABELS[String(i.path[0])] ?? String(i.path[0])} ${i.message}.`).join(" ");
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
    const weak = passwordProblem(form.password, personalInputs(form.email, form.name));
    if (weak) return renderForm(req, res, flow, { status: 400, error: weak, errorField: "password", ...keep });

    let user;
    try {
      user = await store.registerUser(
        { email: form.email, name: form.name, passwordHash: await hashPassword(form.password), emailVerified: decision.emailVerified },
        decision.useInvitation ? invitationId : null,
        // The verification mail is written with the account (outbox): no account without its mail.
        decision.emailVerified ? undefined : (tx, created) => queueVerificationMail(tx, env, created),
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
        title: "Invitation",
      });
    }
    const audience = invitation!.audience;
    const accepted = audience.invitationEnabled;
    if (accepted) req.session.invitationCode = code;
    res.render("invitation", {
      title: `Invitation to ${audience.displayName}`,
      audienceName: audience.displayName,
      startUrl: audience.startUrl,
      boundEmail: invitation!.email,
      expiresAt: invitation!.expiresAt,
      accepted,
    });
  });

  return router;
}
