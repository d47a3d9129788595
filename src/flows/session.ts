// What the app keeps in a browser's session (src/types.d.ts gives express-session this shape), and
// the port through which a use case changes that session: the route builds it from the request.
import type { Along } from "../services/db";
import type { Language } from "../i18n";
import { challengeDigest } from "./challenges";

export interface AppSession {
  /** The signed-in user's id (Hydra subject). */
  userId?: string;
  /** An invitation code from a link opened outside an OAuth flow, kept for the registration that follows. */
  invitationCode?: string;
  /** A sign-up whose account exists but whose Hydra login step was not answered yet (retry continues it). */
  pendingSignUp?: { challenge: string; userId: string };
  /** A login step held until the user's address is verified (require-verified-email). */
  pendingLogin?: PendingLogin;
  /** A login step waiting for the user's second factor (or its set-up) in this browser. */
  pendingSecondFactor?: PendingSecondFactor;
  /** A password recovery asked for during an OAuth flow: after the reset in this browser, the flow continues. */
  recoveryFlow?: { challenge: string; email: string };
  /** The account page's own OAuth sign-in in progress (state, nonce, PKCE verifier). */
  accountAuth?: { state: string; nonce: string; codeVerifier: string };
  /** Set by the account page's own OAuth sign-in: who, and when they authenticated (Hydra's auth_time). */
  accountSignIn?: { userId: string; authTime: number };
}

export interface PendingLogin {
  /** The challenge's digest: what a form's login_challenge must match to act on this step. */
  challenge: string;
  /** The challenge itself: a confirmation by link in this browser continues the step with it. */
  loginChallenge?: string;
  userId: string;
  remember: boolean;
  startSession: boolean;
  loginSessionId: string | undefined;
  requireVerified?: boolean;
  /** A sign-up with an address that already has an account: the page looks the same, nothing can complete. */
  decoy?: { email: string; codeTries: number };
  /** How the person proved who they are so far (amr values); a password when unset. */
  methods?: string[];
  /** What the completed sign-in tells: its client, and whether the browser was new to the account (sign-in-step.ts SignIn). */
  clientId?: string;
  newBrowser?: { lng: Language };
}

/** What every held login step keeps: the challenge (and its digest), whose step, and how it goes on. */
export function heldStepFields(o: {
  loginChallenge: string;
  loginSessionId: string | undefined;
  user: { id: string };
  remember: boolean;
  startSession: boolean;
  clientId?: string;
  newBrowser?: { lng: Language };
}) {
  return {
    challenge: challengeDigest(o.loginChallenge),
    loginChallenge: o.loginChallenge,
    userId: o.user.id,
    remember: o.remember,
    startSession: o.startSession,
    loginSessionId: o.loginSessionId,
    ...(o.clientId ? { clientId: o.clientId } : {}),
    ...(o.newBrowser ? { newBrowser: o.newBrowser } : {}),
  };
}

/** How a held step goes on when it is answered (finishSignIn's fields from the session). */
export const resumedStepFields = (pending: Pick<PendingSecondFactor, "loginSessionId" | "remember" | "startSession" | "clientId" | "newBrowser"> & { methods?: string[] }) => ({
  loginSessionId: pending.loginSessionId,
  remember: pending.remember,
  startSession: pending.startSession,
  methods: pending.methods,
  clientId: pending.clientId,
  newBrowser: pending.newBrowser,
});

/** A login step held for the second factor: who proved what so far, and how the step goes on. */
export interface PendingSecondFactor {
  challenge: string;
  loginChallenge: string;
  userId: string;
  remember: boolean;
  startSession: boolean;
  loginSessionId: string | undefined;
  methods: string[];
  /** ask: the user's factor; enrol: the user sets one up first (the audience requires two). */
  mode: "ask" | "enrol";
  /** The recovery codes were shown after enrolment: Continue finishes the step. */
  enrolled?: boolean;
  clientId?: string;
  newBrowser?: { lng: Language };
}

/**
 * The browser's session as the sign-in flows change it. `session` is the session as it is now (a
 * regeneration replaces it); undefined only where the route had no need to load it.
 */
export interface SessionPort {
  readonly session: AppSession | undefined;
  save(): Promise<void>;
  /**
   * A fresh session id (no session fixation) carrying only `data` and the account page's sign-in in
   * progress; the new row replaces the old one in one statement, with `alongside`'s writes.
   * `untilBrowserCloses`: a cookie without expiry (a sign-in without "stay signed in") or one of the
   * session lifetime (false); unset keeps what the current session's cookie is.
   */
  regenerate(data: AppSession, alongside?: Along, untilBrowserCloses?: boolean): Promise<void>;
  /** Ends this browser's session and clears its cookie. */
  destroy(): Promise<void>;
}
