import "express-session";
import type { AppSession } from "./flows/session";

declare module "express-session" {
  // The app's session data is declared with the flows that use it (src/flows/session.ts).
  interface SessionData extends AppSession {}
}
