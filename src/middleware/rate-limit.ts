// Failed sign-ins are limited per client IP and per account (email). Successful ones don't count.
import { rateLimit } from "express-rate-limit";
import type { RequestHandler } from "express";
import type { Env } from "../config/env";
import { AppError } from "../errors";
import { normalizeEmail } from "../services/store";

export function loginLimiter(env: Env): RequestHandler {
  const common = {
    windowMs: env.LOGIN_FAILURE_WINDOW_SECONDS * 1000,
    skipSuccessfulRequests: true,
    standardHeaders: "draft-8" as const,
    legacyHeaders: false,
    handler: (_req: unknown, _res: unknown, next: (err: unknown) => void) =>
      next(new AppError(429, "too_many_attempts", "Too many failed sign-in attempts. Please wait a few minutes and try again.")),
  };
  const perIp = rateLimit({ ...common, limit: env.LOGIN_MAX_FAILURES_PER_IP });
  const perAccount = rateLimit({
    ...common,
    limit: env.LOGIN_MAX_FAILURES_PER_ACCOUNT,
    skip: (req) => typeof req.body?.email !== "string" || req.body.email.trim() === "",
    keyGenerator: (req) => `account:${normalizeEmail(String(req.body.email))}`,
  });
  return (req, res, next) => perIp(req, res, (err?: unknown) => (err ? next(err) : perAccount(req, res, next)));
}

/** Registration attempts per client IP (all of them count: each one hashes a password). */
export function registrationLimiter(env: Env): RequestHandler {
  return rateLimit({
    windowMs: env.REGISTRATION_WINDOW_SECONDS * 1000,
    limit: env.REGISTRATION_MAX_PER_IP,
    standardHeaders: "draft-8",
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new AppError(429, "too_many_attempts", "Too many registration attempts from your network. Please try again later.")),
  });
}
