// /account/sessions/end — "End this session" on /account (flows/account-places.ts): another
// browser's sign-in ends here and at Hydra; this browser's is this browser's own sign-out.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { parseInput } from "../middleware/validate";
import { endAccountSession } from "../flows/account-sign-in";
import { endPlace } from "../flows/account-places";
import { startBrowserSignOut } from "../flows/sign-out";
import { requireAccountSession } from "./account";
import { sessionPort } from "./browser";
import { respond } from "./respond";

const EndForm = z.object({ id: z.uuid({ message: "is not a session of this account" }) });

export function accountPlaceRoutes(deps: Deps): Router {
  const router = Router();

  router.post("/account/sessions/end", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(EndForm, req.body, "session form");
    const userId = req.session.userId!;
    const done = await endPlace(deps, { sessionId: req.sessionID }, { userId, id: form.id });
    if (done !== "this browser") return respond(deps, req, res, done);
    await endAccountSession(deps, sessionPort(deps, req, res), userId);
    startBrowserSignOut(res, deps.env, null);
  });

  return router;
}
