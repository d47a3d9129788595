// Every user-facing word goes through i18next. Translations live in locales/<language>/<namespace>.json
// (one namespace per flow, "common" for the layout and shared messages), are loaded once at start-up
// and are plain text: templates add the markup, EJS escapes the output. A key is written
// "namespace:path.to.key" ("common:" may be left out).
import fs from "node:fs";
import path from "node:path";
import i18next from "i18next";
import { ROOT_DIR } from "./paths";

export const LANGUAGES = ["en", "de"] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = "en";
/** Each language's name in itself, for the switcher. */
export const LANGUAGE_NAMES: Record<Language, string> = { en: "English", de: "Deutsch" };

const LOCALES_DIR = path.join(ROOT_DIR, "locales");

/** Reads every locales/<lng>/<ns>.json (synchronously: once, at start-up). */
export function loadResources(dir = LOCALES_DIR): Record<string, Record<string, unknown>> {
  const resources: Record<string, Record<string, unknown>> = {};
  for (const lng of LANGUAGES) {
    resources[lng] = {};
    for (const file of fs.readdirSync(path.join(dir, lng)).filter((f) => f.endsWith(".json")).sort()) {
      resources[lng]![file.slice(0, -5)] = JSON.parse(fs.readFileSync(path.join(dir, lng, file), "utf8"));
    }
  }
  return resources;
}

const resources = loadResources();
export const NAMESPACES = Object.keys(resources[DEFAULT_LANGUAGE]!);

const instance = i18next.createInstance();
void instance.init({
  initAsync: false,
  resources: resources as never,
  ns: NAMESPACES,
  defaultNS: "common",
  fallbackNS: "common",
  lng: DEFAULT_LANGUAGE,
  fallbackLng: DEFAULT_LANGUAGE,
  supportedLngs: [...LANGUAGES],
  // EJS escapes what <%= %> prints; th() below escapes values for the few strings with markup.
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
} as never);

/** A translator: key ("namespace:path") and values → text. */
export type T = (key: string, values?: Record<string, unknown>) => string;

/**
 * A translator bound to one language. The translations never change after start-up, so a key asked
 * for without values is looked up in i18next once per language and then answered from a map: a page
 * asks for dozens of fixed labels, and i18next's lookup costs tens of microseconds each.
 */
const translators = new Map<string, T>();
export function fixedT(lng: string): T {
  const l = isLanguage(lng) ? lng : DEFAULT_LANGUAGE;
  let t = translators.get(l);
  if (!t) {
    const raw = instance.getFixedT(l) as unknown as (key: string, options?: object) => unknown;
    const fixed = new Map<string, string>();
    t = (key, values) => {
      if (values) return String(raw(key, values));
      let text = fixed.get(key);
      if (text === undefined) {
        text = String(raw(key, {}));
        // Keys come from the code; the bound only guards against one ever built from input.
        if (fixed.size < 5000) fixed.set(key, text);
      }
      return text;
    };
    translators.set(l, t);
  }
  return t;
}

export function isLanguage(x: unknown): x is Language {
  return typeof x === "string" && (LANGUAGES as readonly string[]).includes(x);
}

/** Whether a key exists in the default language (for tests and guards). */
export function hasKey(key: string): boolean {
  return instance.exists(key, { lng: DEFAULT_LANGUAGE });
}

/** A message for people that is translated when shown: a key and its values. */
export interface Msg {
  key: string;
  values?: Record<string, unknown>;
}
export const msg = (key: string, values?: Record<string, unknown>): Msg => ({ key, values });
export const isMsg = (x: unknown): x is Msg => typeof x === "object" && x !== null && typeof (x as Msg).key === "string";

/** Text of a message in a language; a plain string passes through (names, Hydra's own words). */
export function say(t: T, m: Msg | string): string {
  if (typeof m === "string") return m;
  if (!m.values) return t(m.key);
  // Values may be messages themselves (translated first) or lists of them (joined).
  const resolve = (v: unknown): unknown => (isMsg(v) ? say(t, v) : Array.isArray(v) ? v.map((x) => String(resolve(x))).join(", ") : v);
  return t(m.key, Object.fromEntries(Object.entries(m.values).map(([k, v]) => [k, resolve(v)])));
}

/** English text of a message, for logs and JSON answers. */
export const english = (m: Msg | string): string => say(fixedT(DEFAULT_LANGUAGE), m);

/**
 * For translations that hold markup (<strong>, <a>): the translation is trusted, every value is
 * HTML-escaped. Print the result with <%- %>.
 */
export function htmlT(t: T): T {
  return (key, values) => t(key, { ...(values ?? {}), interpolation: { escapeValue: true } });
}

/** Formats a date and time in a language, in UTC (pages re-format it in the browser's time zone). */
export function formatDateTime(d: Date, lng: string, timeZone = "UTC"): string {
  // Intl refuses dateStyle/timeStyle together with timeZoneName, so the parts are named one by one.
  return new Intl.DateTimeFormat(isLanguage(lng) ? lng : DEFAULT_LANGUAGE, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone, timeZoneName: "short" }).format(d);
}
