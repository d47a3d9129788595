// Every word people see goes through i18next: no template holds an untranslated string, both
// languages have the same keys (and the same {{values}} in each string), every key the code uses exists.
import fs from "node:fs";
import path from "node:path";
import { loadResources, LANGUAGES, fixedT, say, msg, english, formatDateTime } from "../../src/i18n";
import { firstSupported, parseAcceptLanguage, parseUiLocales, pickLanguage, safeReturnPath } from "../../src/decisions/language";

const ROOT = path.resolve(__dirname, "..", "..");
const resources = loadResources(path.join(ROOT, "locales"));

function flatten(obj: unknown, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out.set(key, v);
    else if (v && typeof v === "object") for (const [k2, v2] of flatten(v, key)) out.set(k2, v2);
    else throw new Error(`${key}: translations are strings or objects of strings`);
  }
  return out;
}

function allKeys(lng: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [ns, tree] of Object.entries(resources[lng]!)) for (const [k, v] of flatten(tree)) out.set(`${ns}:${k}`, v);
  return out;
}

function files(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name), ext) : ext.test(e.name) ? [path.join(dir, e.name)] : []));
}

/** Literal words left in a template once its EJS code and its markup are removed. */
export function untranslated(template: string): string[] {
  const found: string[] = [];
  let s = template.replace(/<%[\s\S]*?%>/g, " ").replace(/<!--[\s\S]*?-->/g, " ").replace(/<(style|script)[\s\S]*?<\/\1>/g, " ");
  // Attributes people read (or hear): alt, title, aria-label, placeholder, data-*-label.
  for (const m of s.matchAll(/\s(alt|title|aria-label|placeholder|data-[a-z-]*label)="([^"]*)"/g)) if (/\p{L}{2,}/u.test(m[2]!)) found.push(`${m[1]}="${m[2]}"`);
  s = s.replace(/<[^>]*>/g, " ").replace(/&[a-z]+;|&#\d+;/g, " ").replace(/^Subject:/, " ");
  for (const m of s.matchAll(/\p{L}[\p{L}'’-]*/gu)) found.push(m[0]);
  return found;
}

describe("translations", () => {
  const en = allKeys("en");

  test("there are translations", () => {
    expect(en.size).toBeGreaterThan(50);
  });

  test.each(LANGUAGES.filter((l) => l !== "en"))("%s has exactly the keys of en, each non-empty, with the same {{values}}", (lng) => {
    const other = allKeys(lng);
    expect([...other.keys()].sort()).toEqual([...en.keys()].sort());
    const vars = (s: string) => [...s.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1]).sort();
    const tags = (s: string) => [...s.matchAll(/<\/?([a-z]+)/g)].map((m) => m[1]).sort();
    for (const [key, value] of other) {
      expect({ key, empty: value.trim() === "" }).toEqual({ key, empty: false });
      expect({ key, vars: vars(value), tags: tags(value) }).toEqual({ key, vars: vars(en.get(key)!), tags: tags(en.get(key)!) });
    }
  });

  test("no template holds an untranslated string", () => {
    const problems = files(path.join(ROOT, "views"), /\.ejs$/)
      .map((f) => ({ file: path.relative(ROOT, f), words: untranslated(fs.readFileSync(f, "utf8")) }))
      .filter((x) => x.words.length);
    expect(problems).toEqual([]);
  });

  test("the check finds literal words, in text and in attributes", () => {
    expect(untranslated(`<p>Hello <%= name %></p>`)).toEqual(["Hello"]);
    expect(untranslated(`<img alt="Company logo" src="<%= x %>">`)).toEqual(['alt="Company logo"']);
    expect(untranslated(`<p><%= t('a:b') %> — <%- th('x') %></p>`)).toEqual([]);
  });

  test("every key the code and the templates name exists in en", () => {
    const sources = [...files(path.join(ROOT, "src"), /\.ts$/), ...files(path.join(ROOT, "views"), /\.ejs$/)].filter((f) => !f.includes(`${path.sep}generated${path.sep}`));
    const missing: string[] = [];
    for (const f of sources) {
      const text = fs.readFileSync(f, "utf8");
      for (const m of text.matchAll(/["'`]((?:common|errors|[a-z]+):[A-Za-z0-9_.-]+(?:\s[A-Za-z0-9_.-]+)*)["'`]/g)) {
        const key = m[1]!;
        if (!Object.keys(resources.en!).includes(key.split(":")[0]!)) continue; // not a translation key ("mailto:", "data:")
        // A key may name a subtree ("ns:a" for "ns:a.b") or a plural family ("ns:a" for "ns:a_one", "ns:a_other").
        if (!en.has(key) && ![...en.keys()].some((k) => k.startsWith(`${key}.`) || k.startsWith(`${key}_`))) missing.push(`${path.relative(ROOT, f)}: ${key}`);
      }
    }
    expect(missing).toEqual([]);
  });

  test("dates are written in the page's language, naming the time zone", () => {
    const d = new Date("2026-11-28T14:05:00Z");
    expect(formatDateTime(d, "en")).toBe("Nov 28, 2026, 02:05 PM UTC");
    expect(formatDateTime(d, "de")).toBe("28. Nov. 2026, 14:05 UTC");
  });

  test("messages are translated when shown, values included", () => {
    const de = fixedT("de");
    expect(say(de, msg("errors:csrf.title"))).not.toBe(english(msg("errors:csrf.title")));
    expect(english(msg("errors:input.wrong", { what: msg("errors:what.sign-in form"), fields: [msg("errors:field.email"), msg("errors:field.password")] }))).toBe(
      "Something in the sign-in form is not right (the email address, the password). Please go back, check it and try again.",
    );
  });
});

describe("language of a page", () => {
  test.each([
    [{}, "en"],
    [{ acceptLanguage: "de-DE,de;q=0.9,en;q=0.8" }, "de"],
    [{ acceptLanguage: "fr-CH, fr;q=0.9, de;q=0.8, en;q=0.7" }, "de"],
    [{ acceptLanguage: "en;q=0.5, de;q=0.9" }, "de"],
    [{ acceptLanguage: "de;q=0, en" }, "en"],
    [{ acceptLanguage: "fr" }, "en"],
    [{ uiLocales: ["de"], acceptLanguage: "en" }, "de"],
    [{ uiLocales: ["fr-CA", "de-AT"], acceptLanguage: "en" }, "de"],
    [{ uiLocales: ["fr"], acceptLanguage: "de" }, "de"],
    [{ rememberedUiLocale: "de", acceptLanguage: "en" }, "de"],
    [{ uiLocales: ["en"], rememberedUiLocale: "de" }, "en"],
    [{ chosen: "en", uiLocales: ["de"], acceptLanguage: "de" }, "en"],
    [{ chosen: "de", acceptLanguage: "en" }, "de"],
    [{ chosen: "xx", acceptLanguage: "de" }, "de"],
  ])("%j → %s", (input, expected) => {
    expect(pickLanguage(input)).toBe(expected);
  });

  test("parsers", () => {
    expect(parseAcceptLanguage("da, en-GB;q=0.8, en;q=0.7, *;q=0.1")).toEqual(["da", "en-GB", "en"]);
    expect(parseUiLocales("de-CH  en")).toEqual(["de-CH", "en"]);
    expect(parseUiLocales(["de en", "fr"])).toEqual(["de", "en", "fr"]);
    expect(firstSupported(["DE_at"])).toBe("de");
  });

  test.each([
    ["/login?login_challenge=abc", "/login?login_challenge=abc"],
    ["//evil.example/x", "/"],
    ["/\\evil.example", "/"],
    ["https://evil.example/", "/"],
    ["/ok\r\nSet-Cookie: x", "/"],
    [undefined, "/"],
  ])("switcher return %j → %s", (value, expected) => {
    expect(safeReturnPath(value)).toBe(expected);
  });
});
