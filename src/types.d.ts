import "express-session";

declare module "express-session" {
  interface SessionData {
    /** The signed-in user's id (Hydra subject). */
    userId?: string;
    csrfToken?: string;
    /** An invitation code from a link opened outside an OAuth flow, kept for the registration that follows. */
    invitationCode?: string;
    /** A sign-up whose account exists but whose Hydra login step was not answered yet (retry continues it). */
    pendingSignUp?: { challenge: string; userId: string };
    /** A login step held until the user's address is verified (require-verified-email). */
    pendingLogin?: {
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
    };
    /** A password recovery asked for during an OAuth flow: after the reset in this browser, the flow continues. */
    recoveryFlow?: { challenge: string; email: string };
    /** The account page's own OAuth sign-in in progress (state, nonce, PKCE verifier). */
    accountAuth?: { state: string; nonce: string; codeVerifier: string };
    /** Set by the account page's own OAuth sign-in: who, and when they authenticated (Hydra's auth_time). */
    accountSignIn?: { userId: string; authTime: number };
  }
}
