import "express-session";

declare module "express-session" {
  interface SessionData {
    /** The signed-in user's id (Hydra subject). */
    userId?: string;
    csrfToken?: string;
    /** An invitation code from a link opened outside an OAuth flow, kept for the registration that follows. */
    invitationCode?: string;
  }
}
