// What every page template gets: the translator in the page's language, the brand, the language
// switcher's links. Routes that learn the application's ui_locales (from Hydra's login or consent
// request) call useUiLocales() before rendering.
import type { NextFunction, Request, Response } from "express";
import type { Env } from "../config/env";
import { pickLanguage, parseUiLocales, firstSupported } from "../decisions/language";
import { brandFor, type Brand, type BrandSettings } from "../decisions/brand";
import { fixedT, htmlT, formatDateTime, LANGUAGES, LANGUAGE_NAMES, say, type Language, type Msg, type T } from "../i18n";

/** The switcher's choice (a year) and the last ui_locales an application asked for (this browser session). */
export const LANGUAGE_COOKIE = "lang";
export const UI_LOCALE_COOKIE = "ui_locale";

export interface PageLocals {
  lng: Language;
  t: T;
  /** For translations holding markup: values escaped, print with <%- %>. */
  th: T;
  say: (m: Msg | string) => string;
  formatDateTime: (d: Date) => string;
  brand: Brand;
  languages: { lng: Language; name: string; href: string; current: boolean }[];
}

function cookie(req: Request, name: string): string | undefined {
  const v = (req.cookies as Record<string, unknown> | undefined)?.[name];
  return typeof v === "string" ? v : undefined;
}

/** Where the switcher comes back to: this page, or for a form post its page with the flow's challenge. */
function returnPath(req: Request): string {
  if (req.method === "GET") return req.originalUrl;
  const params = new URLSearchParams();
  for (const name of ["login_challenge", "consent_challenge", "logout_challenge"]) {
    const v = (req.body as Record<string, unknown> | undefined)?.[name];
    if (typeof v === "string" && v.length <= 4096) params.set(name, v);
  }
  const q = params.toString();
  return req.path + (q ? `?${q}` : "");
}

/** What a page needs of its language, built once per language. */
const perLanguage = new Map<Language, Pick<PageLocals, "lng" | "t" | "th" | "say" | "formatDateTime">>();
function languageLocals(lng: Language): Pick<PageLocals, "lng" | "t" | "th" | "say" | "formatDateTime"> {
  let l = perLanguage.get(lng);
  if (!l) {
    const t = fixedT(lng);
    l = { lng, t, th: htmlT(t), say: (m) => say(t, m), formatDateTime: (d) => formatDateTime(d, lng) };
    perLanguage.set(lng, l);
  }
  return l;
}

function setLanguage(req: Request, res: Response, lng: Language): void {
  const locals = res.locals as Partial<PageLocals>;
  Object.assign(locals, languageLocals(lng));
  // The switcher's links are built when a page is rendered (most responses are redirects), from
  // the request as it is then (a form post's body is parsed by then).
  Object.defineProperty(locals, "languages", {
    configurable: true,
    enumerable: true,
    get: () => {
      const back = encodeURIComponent(returnPath(req));
      return LANGUAGES.map((l) => ({ lng: l, name: LANGUAGE_NAMES[l], href: `/language?lng=${l}&return=${back}`, current: l === lng }));
    },
  });
  res.setHeader("Content-Language", lng);
}

export function pageLocals(env: Env) {
  const settings: BrandSettings = {
    productName: env.BRAND_PRODUCT_NAME,
    logoUrl: env.BRAND_LOGO_URL ?? null,
    supportUrl: env.BRAND_SUPPORT_URL ?? null,
    primaryColor: env.BRAND_PRIMARY_COLOR,
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    (res.locals as PageLocals).brand = brandFor(settings);
    const lng = pickLanguage({
      chosen: cookie(req, LANGUAGE_COOKIE),
      rememberedUiLocale: cookie(req, UI_LOCALE_COOKIE),
      acceptLanguage: req.get("accept-language"),
    });
    setLanguage(req, res, lng);
    next();
  };
}

/** The page's language after the application's ui_locales (OIDC) are known; remembered for this browser session. */
export function useUiLocales(req: Request, res: Response, uiLocales: unknown, env: Pick<Env, "COOKIE_SECURE" | "COOKIE_SAME_SITE">): void {
  const tags = parseUiLocales(uiLocales);
  const hit = firstSupported(tags);
  if (hit && cookie(req, UI_LOCALE_COOKIE) !== hit) {
    res.cookie(UI_LOCALE_COOKIE, hit, { httpOnly: true, secure: env.COOKIE_SECURE, sameSite: env.COOKIE_SAME_SITE, path: "/" });
  }
  setLanguage(req, res, pickLanguage({ chosen: cookie(req, LANGUAGE_COOKIE), uiLocales: tags, rememberedUiLocale: cookie(req, UI_LOCALE_COOKIE), acceptLanguage: req.get("accept-language") }));
}

/** The page's brand for an audience (which may override name and logo). */
export function useAudienceBrand(res: Response, audience: { brandName?: string | null; brandLogo?: string | null } | null | undefined): void {
  const locals = res.locals as PageLocals;
  locals.brand = brandFor(locals.brand, audience);
}

/** The translator of this response (for routes building messages). */
export const tOf = (res: Response): T => (res.locals as PageLocals).t;
export const lngOf = (res: Response): Language => (res.locals as PageLocals).lng;
