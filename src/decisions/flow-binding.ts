// Binding Hydra's consent step to the browser that answered the login step. A consent challenge
// in a URL is not proof of anything: whoever holds the URL could open it. Hydra gives every login
// request a login-session id (`session_id`) that reappears on the consent request of the same flow
// (`login_session_id`). When this app answers a login request, the browser gets a mark (an HMAC
// of that id, unforgeable without the key); the consent step proceeds only in a browser holding
// the mark of its login session. Pure functions: the key is passed in.
import { createHmac } from "node:crypto";

export const MAX_FLOW_MARKS = 10;
const MARK = /^[A-Za-z0-9_-]{16}$/;

export function flowKey(secret: string): Buffer {
  return createHmac("sha256", secret).update("flow-binding/v1").digest();
}

export function flowMark(key: Buffer, loginSessionId: string): string {
  return createHmac("sha256", key).update(loginSessionId).digest().subarray(0, 12).toString("base64url");
}

export function parseFlowMarks(value: string | undefined): string[] {
  if (!value) return [];
  return value.split("~").filter((m) => MARK.test(m)).slice(0, MAX_FLOW_MARKS);
}

/** The cookie value with `mark` added (newest first, no duplicates, bounded). */
export function addFlowMark(marks: readonly string[], mark: string): string {
  return [mark, ...marks.filter((m) => m !== mark)].slice(0, MAX_FLOW_MARKS).join("~");
}

/** Whether the browser holding `marks` answered the login step of this login session (any key: rotation). */
export function browserAnsweredLogin(marks: readonly string[], loginSessionId: string | undefined | null, keys: readonly Buffer[]): boolean {
  if (!loginSessionId) return false;
  return keys.some((k) => marks.includes(flowMark(k, loginSessionId)));
}

export type ConsentGuard = { kind: "ok" } | { kind: "refuse"; reason: "other_user" | "other_browser"; /** Translation key of the page's message. */ message: string };

/**
 * May this browser answer this consent request? Refused when the browser is signed in to this app
 * as somebody else than the request's subject, or did not answer the request's login step.
 */
export function guardConsent(input: { sessionUserId: string | undefined; subject: string; answeredLogin: boolean }): ConsentGuard {
  if (input.sessionUserId && input.sessionUserId !== input.subject) {
    return {
      kind: "refuse",
      reason: "other_user",
      message: "consent:refused.otherUser",
    };
  }
  if (!input.answeredLogin) {
    return {
      kind: "refuse",
      reason: "other_browser",
      message: "consent:refused.otherBrowser",
    };
  }
  return { kind: "ok" };
}
