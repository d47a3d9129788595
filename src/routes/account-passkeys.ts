// /account/passkeys/… — the account page's passkeys (flows/account-passkeys.ts): register one,
// rename one, remove one.
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { parseInput } from "../middleware/validate";
import { requireAccountSession } from "./account";
import { beginPasskeyRegistration, finishPasskeyRegistration, removePasskey, renamePasskey } from "../flows/account-passkeys";
import { registrationResponse } from "./webauthn-input";
import { accountActor, accountBrowser } from "./browser";
import { respond } from "./respond";

const password = z.string({ message: "is required" }).max(1024, "is too long");
const name = z.string({ message: "is required" }).trim().min(1, "is required").max(60, "is too long");
const id = z.uuid({ message: "is not a passkey of this account" });
const BeginForm = z.object({ name, current_password: password });
const FinishForm = z.object({ name, response: registrationResponse });
const RenameForm = z.object({ id, name });
const RemoveForm = z.object({ id, current_password: password });

export function accountPasskeyRoutes(deps: Deps): Router {
  const router = Router();
  const actor = accountActor;
  const browser = (req: Request) => accountBrowser(deps, req);

  router.post("/account/passkeys/begin", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(BeginForm, req.body, "passkey form");
    const input = { ...actor(req, res), sessionId: req.sessionID, name: form.name, currentPassword: form.current_password };
    respond(deps, req, res, await beginPasskeyRegistration(deps, browser(req), input));
  });

  router.post("/account/passkeys/finish", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(FinishForm, req.body, "passkey form");
    respond(deps, req, res, await finishPasskeyRegistration(deps, { ...actor(req, res), sessionId: req.sessionID, name: form.name, response: form.response }));
  });

  router.post("/account/passkeys/rename", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(RenameForm, req.body, "passkey form");
    respond(deps, req, res, await renamePasskey(deps, { userId: req.session.userId!, id: form.id, name: form.name }));
  });

  router.post("/account/passkeys/remove", requireAccountSession, deps.csrf.protect, async (req: Request, res: Response) => {
    const form = parseInput(RemoveForm, req.body, "passkey form");
    respond(deps, req, res, await removePasskey(deps, browser(req), { ...actor(req, res), sessionId: req.sessionID, id: form.id, currentPassword: form.current_password }));
  });

  return router;
}
