// Reading and writing the two browser-binding cookies (the pure logic is in src/decisions/):
// - the flow marks: which Hydra login sessions this browser answered the login step for;
// - the strength marks: which of them were signed in with two factors here (a hint: the database
//   holds what a session reached, and is asked only for a marked one);
// - the device cookie: which accounts signed in successfully on this browser (lockout protection).
import type { Request, Response } from "express";
import type { Env } from "../config/env";
import { addFlowMark, browserAnsweredLogin, flowKey, flowMark, parseFlowMarks } from "../decisions/flow-binding";
import { deviceKey, parseDeviceCookie, rememberDevice, trustedDevice } from "../decisions/device-cookie";

/** Hydra's login and consent requests live 30 minutes (hydra.yml ttl.login_consent_request). */
const FLOW_MARK_TTL_MS = 60 * 60 * 1000;

export interface BrowserCookies {
  markLoginAnswered(req: Request, res: Response, loginSessionId: string | undefined): void;
  answeredLogin(req: Request, loginSessionId: string | undefined): boolean;
  /** Marks or unmarks Hydra's login session as signed in with two factors in this browser (kept as long as Hydra remembers a login). */
  markStrongSession(req: Request, res: Response, loginSessionId: string, strong: boolean): void;
  strongSession(req: Request, loginSessionId: string | undefined): boolean;
  trustedDevice(req: Request, emailNormalized: string): string | null;
  rememberDevice(req: Request, res: Response, emailNormalized: string, existing: string | null): void;
}

export function browserCookies(env: Env): BrowserCookies {
  const flowKeys = env.SESSION_SECRETS.map(flowKey);
  const deviceKeys = env.SESSION_SECRETS.map(deviceKey);
  const flowCookie = `${env.SESSION_COOKIE_NAME}_flows`;
  const strongCookie = `${env.SESSION_COOKIE_NAME}_strength`;
  const strongKeys = env.SESSION_SECRETS.map((s) => flowKey(`${s}/strength`));
  const common = { httpOnly: true, secure: env.COOKIE_SECURE, sameSite: env.COOKIE_SAME_SITE, path: "/" } as const;
  const cookie = (req: Request, name: string): string | undefined => {
    const v = (req.cookies as Record<string, unknown> | undefined)?.[name];
    return typeof v === "string" ? v : undefined;
  };
  return {
    markLoginAnswered(req, res, loginSessionId) {
      if (!loginSessionId) return;
      const value = addFlowMark(parseFlowMarks(cookie(req, flowCookie)), flowMark(flowKeys[0]!, loginSessionId));
      res.cookie(flowCookie, value, { ...common, maxAge: FLOW_MARK_TTL_MS });
    },
    answeredLogin(req, loginSessionId) {
      return browserAnsweredLogin(parseFlowMarks(cookie(req, flowCookie)), loginSessionId, flowKeys);
    },
    markStrongSession(req, res, loginSessionId, strong) {
      const marks = parseFlowMarks(cookie(req, strongCookie));
      const mark = flowMark(strongKeys[0]!, loginSessionId);
      const kept = strong ? addFlowMark(marks, mark) : marks.filter((m) => !strongKeys.some((k) => flowMark(k, loginSessionId) === m)).join("~");
      if (kept) res.cookie(strongCookie, kept, { ...common, maxAge: env.LOGIN_REMEMBER_FOR_SECONDS * 1000 });
      else res.clearCookie(strongCookie, common);
    },
    strongSession(req, loginSessionId) {
      return browserAnsweredLogin(parseFlowMarks(cookie(req, strongCookie)), loginSessionId, strongKeys);
    },
    trustedDevice(req, emailNormalized) {
      return trustedDevice(parseDeviceCookie(cookie(req, env.DEVICE_COOKIE_NAME)), emailNormalized, deviceKeys);
    },
    rememberDevice(req, res, emailNormalized, existing) {
      const value = rememberDevice(parseDeviceCookie(cookie(req, env.DEVICE_COOKIE_NAME)), emailNormalized, deviceKeys[0]!, existing);
      res.cookie(env.DEVICE_COOKIE_NAME, value, { ...common, maxAge: env.DEVICE_COOKIE_TTL_SECONDS * 1000 });
    },
  };
}
