// State-changing requests must come from this app's own pages: besides the CSRF token, the
// browser's Sec-Fetch-Site (modern browsers) or Origin header must say "same origin".
// `Origin: null` is not a verdict: browsers send it for same-origin posts under
// Referrer-Policy: no-referrer (which every page here sets), so Sec-Fetch-Site decides then.
import type { RequestHandler } from "express";
import type { Env } from "../config/env";
import { AppError } from "../errors";
import { msg } from "../i18n";
import type { Logger } from "../logger";
import { requestLogger } from "./request-log";

export function crossSiteVerdict(headers: { secFetchSite?: string; origin?: string }, appOrigin: string): "ok" | "cross-site" {
  const site = headers.secFetchSite?.toLowerCase();
  if (site) return site === "same-origin" || site === "none" ? "ok" : "cross-site";
  const origin = headers.origin;
  if (origin && origin !== "null" && origin !== appOrigin) return "cross-site";
  return "ok";
}

export function sameOriginPosts(env: Env, logger: Logger): RequestHandler {
  const appOrigin = new URL(env.APP_BASE_URL).origin;
  return (req, _res, next) => {
    if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return next();
    const verdict = crossSiteVerdict({ secFetchSite: req.get("sec-fetch-site"), origin: req.get("origin") }, appOrigin);
    if (verdict === "ok") return next();
    requestLogger(req, logger).warn({ event: "cross_site_post", origin: req.get("origin"), site: req.get("sec-fetch-site") }, "cross-site form post refused");
    next(new AppError(403, "cross_site_request", msg("errors:crossSite.message"), { title: msg("errors:crossSite.title") }));
  };
}
