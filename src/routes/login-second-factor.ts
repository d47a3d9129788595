// /login/second-factor — the second step of a sign-in held for it (flows/sign-in-second-factor.ts):
// a code or a passkey, the set-up of an authenticator where the audience requires one, and Continue
// after the recovery codes were shown or one was used. /login/passkey — a passkey alone
// (flows/sign-in-passkey.ts).
import { Router } from "express";
import { z } from "zod";
import type { Deps } from "./deps";
import { challenge, checkbox } from "./deps";
import { authenticationResponse } from "./webauthn-input";
import { signInWithPasskey, type PasskeySignInDeps } from "../flows/sign-in-passkey";
import { parseInput } from "../middleware/validate";
import { answerSecondFactor, confirmSetupInSignIn, continueAfterSecondFactor, type SecondFactorStepDeps } from "../flows/sign-in-second-factor";
import { pageLook, passwordBrowser, signInBrowser } from "./browser";
import { respond } from "./respond";
import { signInDeps } from "./login";

const code = z.string().trim().max(64, "is too long").default("");
const CodeForm = z.object({ login_challenge: challenge, method: z.enum(["totp", "recovery", "passkey"]).default("totp"), code, response: authenticationResponse.optional() });
const PasskeyForm = z.object({ login_challenge: challenge, response: authenticationResponse, remember: checkbox });
const SetupForm = z.object({ login_challenge: challenge, code, password: z.string().max(1024, "is too long").optional() });
const ContinueForm = z.object({ login_challenge: challenge });

export function loginSecondFactorRoutes(deps: Deps): Router {
  const router = Router();
  const flow: SecondFactorStepDeps & PasskeySignInDeps = signInDeps(deps);

  router.post("/login/second-factor", async (req, res) => {
    await deps.csrf.check(req, res);
    const form = parseInput(CodeForm, req.body, "second-factor form");
    const input = { loginChallenge: form.login_challenge, method: form.method, code: form.code, passkey: form.response };
    respond(deps, req, res, await answerSecondFactor(flow, pageLook(deps, req, res), signInBrowser(deps, req, res), input));
  });

  /** A passkey alone, from the sign-in form. */
  router.post("/login/passkey", async (req, res) => {
    await deps.csrf.check(req, res);
    const form = parseInput(PasskeyForm, req.body, "passkey sign-in");
    const input = { loginChallenge: form.login_challenge, response: form.response, remember: form.remember };
    respond(deps, req, res, await signInWithPasskey(flow, pageLook(deps, req, res), passwordBrowser(deps, req, res), input));
  });

  router.post("/login/second-factor/setup", async (req, res) => {
    await deps.csrf.check(req, res);
    const form = parseInput(SetupForm, req.body, "authenticator set-up form");
    const input = { loginChallenge: form.login_challenge, code: form.code, password: form.password };
    respond(deps, req, res, await confirmSetupInSignIn(flow, pageLook(deps, req, res), signInBrowser(deps, req, res), input));
  });

  router.post("/login/second-factor/continue", async (req, res) => {
    await deps.csrf.check(req, res);
    const form = parseInput(ContinueForm, req.body, "sign-in form");
    respond(deps, req, res, await continueAfterSecondFactor(flow, pageLook(deps, req, res), signInBrowser(deps, req, res), form.login_challenge));
  });

  return router;
}
