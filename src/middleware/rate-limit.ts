// Per-IP attempt limits for registration and invitation links, counted in the shared store
// (src/services/limits.ts) so every replica sees the same counts. Sign-in limits are in the login
// route: they depend on the account and the browser's device cookie (src/decisions/device-cookie.ts).
import type { RequestHandler } from "express";
import { tooManyAttempts } from "../errors";
import type { Msg } from "../i18n";
import type { LimitKind, Limits } from "../services/limits";

export { tooManyAttempts };

/** Counts every request from the client IP; over the limit: 429 with Retry-After. */
export function limitPerIp(limits: Limits, kind: LimitKind, message: Msg | string): RequestHandler {
  return (req, _res, next) => {
    limits.consume(kind, req.ip ?? "unknown").then(
      (r) => next(r.allowed ? undefined : tooManyAttempts(message, r.retryAfterSeconds)),
      next,
    );
  };
}
