// Static files of this site (stylesheet, script, favicon), the brand's stylesheet and assets, and the
// language switcher. Everything a page loads comes from this origin (strict CSP).
import path from "node:path";
import express, { Router } from "express";
import type { Deps } from "./deps";
import { ROOT_DIR } from "../paths";
import { darkSchemeAccent } from "../decisions/brand";
import { safeReturnPath } from "../decisions/language";
import { isLanguage } from "../i18n";
import { LANGUAGE_COOKIE } from "../middleware/page-locals";

export function assetRoutes(deps: Deps): Router {
  const { env } = deps;
  const router = Router();
  // @simplewebauthn/browser's own bundle, served from this origin like every script of the pages.
  const webauthnBundle = path.join(ROOT_DIR, "node_modules", "@simplewebauthn", "browser", "dist", "bundle", "index.umd.min.js");
  router.get("/static/vendor/simplewebauthn-browser.js", (_req, res) => {
    res.setHeader("Cache-Control", "public, max-age=3600");
    res.sendFile(webauthnBundle);
  });
  router.use("/static", express.static(path.join(ROOT_DIR, "public"), { maxAge: "1h", index: false, fallthrough: true }));
  if (env.BRAND_ASSETS_DIR) router.use("/brand", express.static(path.resolve(env.BRAND_ASSETS_DIR), { maxAge: "1h", index: false }));

  const brandCss =
    `:root { --primary: ${env.BRAND_PRIMARY_COLOR}; --primary-on-dark: ${darkSchemeAccent(env.BRAND_PRIMARY_COLOR)}; }\n`;
  router.get("/brand.css", (_req, res) => {
    res.type("text/css").setHeader("Cache-Control", "public, max-age=3600");
    res.send(brandCss);
  });
  router.get("/favicon.ico", (_req, res) => res.redirect(301, "/static/favicon.svg"));

  // The language switcher: remembers the choice for a year and returns to the page (on this site only).
  router.get("/language", (req, res) => {
    // A redirect made for this browser's choice, like every page: never kept by a cache.
    res.setHeader("Cache-Control", "no-store");
    const lng = req.query.lng;
    if (isLanguage(lng)) {
      res.cookie(LANGUAGE_COOKIE, lng, { httpOnly: true, secure: env.COOKIE_SECURE, sameSite: "lax", path: "/", maxAge: 365 * 24 * 60 * 60 * 1000 });
    }
    res.redirect(303, safeReturnPath(req.query.return));
  });
  return router;
}
