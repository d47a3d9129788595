import "express-session";

declare module "express-session" {
  interface SessionData {
    /** The signed-in user's id (Hydra subject). */
    userId?: string;
    csrfToken?: string;
  }
}
