// Which language a page is in (pure). In order: the person's own choice on the switcher (cookie),
// the OIDC ui_locales of the application's login request (this request's, else the one remembered
// for this browser session), the browser's Accept-Language, English.
import { DEFAULT_LANGUAGE, LANGUAGES, type Language } from "../i18n";

/** The first supported language of a list of language tags, by primary subtag ("de-CH" → "de"). */
export function firstSupported(tags: readonly string[]): Language | null {
  for (const tag of tags) {
    const primary = tag.trim().toLowerCase().split(/[-_]/)[0] ?? "";
    const hit = LANGUAGES.find((l) => l === primary);
    if (hit) return hit;
  }
  return null;
}

/** Accept-Language → tags by preference (q=0 excluded, stable for equal q). */
export function parseAcceptLanguage(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(",")
    .map((part, i) => {
      const [tag = "", ...params] = part.trim().split(";");
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
      return { tag: tag.trim(), q: q ? Number(q[1]) : 1, i };
    })
    .filter((x) => x.tag && x.tag !== "*" && Number.isFinite(x.q) && x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i)
    .map((x) => x.tag);
}

/** ui_locales: space-separated language tags in order of preference (OIDC Core 3.1.2.1). */
export function parseUiLocales(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((x): x is string => typeof x === "string").flatMap((x) => x.split(/\s+/)).filter(Boolean);
  return typeof value === "string" ? value.split(/\s+/).filter(Boolean) : [];
}

export function pickLanguage(input: { chosen?: string; uiLocales?: readonly string[]; rememberedUiLocale?: string; acceptLanguage?: string }): Language {
  return (
    firstSupported(input.chosen ? [input.chosen] : []) ??
    firstSupported(input.uiLocales ?? []) ??
    firstSupported(input.rememberedUiLocale ? [input.rememberedUiLocale] : []) ??
    firstSupported(parseAcceptLanguage(input.acceptLanguage)) ??
    DEFAULT_LANGUAGE
  );
}

/** Where the switcher may send the browser back to: a path on this site only. */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\") || value.length > 4096) return "/";
  return /[\x00-\x1f\x7f]/.test(value) ? "/" : value;
}
