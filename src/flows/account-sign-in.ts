// The account page's own sign-in: an OAuth 2.0 authorization-code + PKCE flow at Hydra as the
// first-party client ACCOUNT_CLIENT_ID, ending in an app session made by it; and "Sign out" on
// this browser.
import { timingSafeEqual } from "node:crypto";
import type { Env } from "../config/env";
import { accountAuthRequest, accountRedirectUri, judgeIdToken, jwtPayload } from "../decisions/account-signin";
import { AppError } from "../errors";
import { msg } from "../i18n";
import type { Logger } from "../logger";
import type { Hydra } from "../services/hydra";
import { bindSessionWrites, type Store } from "../services/store";
import { page, type Outcome } from "./outcome";
import type { SessionPort } from "./session";
import { establishSession } from "./sign-in-step";

export interface AccountSignInDeps {
  env: Pick<Env, "HYDRA_PUBLIC_URL" | "ACCOUNT_CLIENT_ID" | "APP_BASE_URL" | "ACCOUNT_MAX_AUTH_AGE_SECONDS">;
  hydra: Pick<Hydra, "exchangeCode">;
  store: Pick<Store, "getUser">;
  logger: Pick<Logger, "info" | "warn">;
}

/** Hydra's answer on /account/callback: a code, or an error (the person cancelled). */
export type CallbackAnswer = { code: string; state: string } | { error: string; error_description?: string; state?: string };

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Starts the sign-in at Hydra; `freshSignIn`: ask for the password even when Hydra remembers the browser. */
export async function startAccountSignIn(deps: Pick<AccountSignInDeps, "env">, browser: Pick<SessionPort, "session" | "save">, freshSignIn: boolean): Promise<Outcome> {
  const { env } = deps;
  const auth = accountAuthRequest({
    hydraPublicUrl: env.HYDRA_PUBLIC_URL,
    clientId: env.ACCOUNT_CLIENT_ID,
    appBaseUrl: env.APP_BASE_URL,
    maxAuthAgeSeconds: env.ACCOUNT_MAX_AUTH_AGE_SECONDS,
    freshSignIn,
  });
  browser.session!.accountAuth = { state: auth.state, nonce: auth.nonce, codeVerifier: auth.codeVerifier };
  await browser.save();
  return { kind: "redirect", to: auth.url };
}

/** Hydra's answer: the code is exchanged, the ID token judged, and the browser gets a new session for its user. */
export async function finishAccountSignIn(deps: AccountSignInDeps, browser: Pick<SessionPort, "session" | "save" | "regenerate">, answer: CallbackAnswer): Promise<Outcome> {
  const { env } = deps;
  const session = browser.session!;
  const pending = session.accountAuth;
  if (!pending || !answer.state || !sameText(answer.state, pending.state)) {
    throw new AppError(400, "account_signin_state", msg("account:signIn.otherBrowser"), { title: msg("account:signIn.failedTitle") });
  }
  delete session.accountAuth;
  if ("error" in answer) {
    await browser.save();
    return page("message", msg("account:signIn.notSignedIn"), { message: msg("account:signIn.cancelled"), link: { href: "/account", label: msg("account:signIn.tryAgain") } }, { status: 401 });
  }
  const tokens = await deps.hydra.exchangeCode({ clientId: env.ACCOUNT_CLIENT_ID, code: answer.code, redirectUri: accountRedirectUri(env.APP_BASE_URL), codeVerifier: pending.codeVerifier });
  const payload = tokens.id_token ? jwtPayload(tokens.id_token) : null;
  const verdict = payload
    ? judgeIdToken(payload, {
        issuer: env.HYDRA_PUBLIC_URL,
        clientId: env.ACCOUNT_CLIENT_ID,
        nonce: pending.nonce,
        nowSeconds: Math.floor(Date.now() / 1000),
        maxAuthAgeSeconds: env.ACCOUNT_MAX_AUTH_AGE_SECONDS,
      })
    : ({ ok: false, reason: "no id_token" } as const);
  if (!verdict.ok) {
    deps.logger.warn({ event: "account_signin_refused", reason: verdict.reason }, "account sign-in refused");
    throw new AppError(400, "account_signin_invalid", msg("account:signIn.failed"), { title: msg("account:signIn.failedTitle") });
  }
  const user = await deps.store.getUser(verdict.subject);
  if (!user) throw new AppError(401, "not_signed_in", msg("account:signIn.thisAccountGone"), { title: msg("account:signIn.notSignedIn") });
  // The new session takes over the place of the sign-in it came from (Hydra's login session, the
  // ID token's sid), in its save: "this browser" on /account.
  const loginSessionId = typeof payload?.sid === "string" ? payload.sid : null;
  await establishSession(browser, user.id, { accountSignIn: { userId: user.id, authTime: verdict.authTime } }, loginSessionId ? { writes: bindSessionWrites(user.id, loginSessionId) } : undefined);
  deps.logger.info({ event: "account_signin", subject: user.id }, "signed in to the account page");
  return { kind: "redirect", to: "/account" };
}

/** Ends this browser's app session (and only this browser's); Hydra's login session ends next, through Hydra. */
export async function endAccountSession(deps: Pick<AccountSignInDeps, "logger">, browser: Pick<SessionPort, "destroy">, userId: string): Promise<void> {
  await browser.destroy();
  deps.logger.info({ event: "account_signed_out", subject: userId }, "signed out on this browser");
}
