// Real-browser checks for end-to-end tests: playwright-core drives Debian's Chromium
// (/usr/bin/chromium, installed by scripts/ensure-chromium.sh; Playwright's own browser download is
// never used). One browser per test file (launchChromium in beforeAll), a fresh context per test
// (newContext: its own cookies). Page checks:
//   checkA11y          axe-core with the WCAG 2.0/2.1/2.2 A and AA rules: 0 violations
//   checkNoHorizontalScroll   the page fits the viewport's width (run at the phone size 390×844)
//   checkKeyboard      Tab alone reaches every shown link, button and input, each with visible focus
//   screenshot         a full-page PNG in test-artifacts/screenshots/ (git-ignored)
//   docsScreenshots    800×900 PNGs (light and dark) in docs/screenshots/, shown by the README
//   tabTo              keyboard-only flows: Tab until an element has a visible focus
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";
import { ROOT } from "./paths";

export type { Browser, BrowserContext, Page };

// The functions given to page.evaluate run in the page. tsconfig has no DOM library (the app runs on
// Node), so the page's globals they use are declared here, loosely and for this file only.
declare const document: any;
declare const window: any;
declare const CSS: { escape(value: string): string };
declare function getComputedStyle(el: unknown): any;
type Element = any;
type HTMLElement = any;
type HTMLButtonElement = any;

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = path.join(ROOT, "test-artifacts", "screenshots");
/** The README's pictures (committed): written by the browser suite with stable names. */
export const DOCS_SCREENSHOT_DIR = path.join(ROOT, "docs", "screenshots");
export const DOCS_VIEWPORT = { width: 800, height: 900 } as const;
export const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;
export type ViewportName = keyof typeof VIEWPORTS;

export async function launchChromium(): Promise<Browser> {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  try {
    return await chromium.launch({
      executablePath: CHROMIUM_PATH,
      // Chromium's sandbox refuses to run as root; as any other user it stays on.
      args: isRoot ? ["--no-sandbox"] : [],
    });
  } catch (err) {
    throw new Error(`could not start Chromium at ${CHROMIUM_PATH} (install it with scripts/ensure-chromium.sh, or set CHROMIUM_PATH): ${(err as Error).message}`);
  }
}

export type ColorScheme = "light" | "dark";

/** One of the browser suite's profiles: a page size, a language and a colour scheme. */
export interface BrowserProfile {
  name: string;
  viewport: ViewportName;
  locale: "en-US" | "de-DE";
  colorScheme: ColorScheme;
  /** The profile whose flows are done by keyboard alone (Tab, Enter, Space; no clicks). */
  keyboard: boolean;
}

/** The browser suite's three profiles: desktop English light (by keyboard), phone English light, phone German dark. */
export const BROWSER_PROFILES: readonly BrowserProfile[] = [
  { name: "desktop, English, light", viewport: "desktop", locale: "en-US", colorScheme: "light", keyboard: true },
  { name: "phone, English, light", viewport: "phone", locale: "en-US", colorScheme: "light", keyboard: false },
  { name: "phone, German, dark", viewport: "phone", locale: "de-DE", colorScheme: "dark", keyboard: false },
];
export interface ContextOptions {
  /** The browser's language: navigator.language and the Accept-Language header (default "en-US"). */
  locale?: string;
  /** prefers-color-scheme (default "light"). */
  colorScheme?: ColorScheme;
  /** The browser's time zone (default UTC), for times the page's script shows in local time. */
  timezoneId?: string;
}

/**
 * A fresh context (own cookies) at the viewport; phone contexts are mobile with touch, like a real
 * phone. `locale` becomes the Accept-Language header, `colorScheme` the prefers-color-scheme.
 */
export async function newContext(browser: Browser, viewport: ViewportName, opts: ContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: VIEWPORTS[viewport],
    ...(viewport === "phone" ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
    locale: opts.locale ?? "en-US",
    colorScheme: opts.colorScheme ?? "light",
    timezoneId: opts.timezoneId ?? "UTC",
  });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  return context;
}

/**
 * The client's end of a flow: a tiny HTTP server on 127.0.0.1 (a free port) answering every request
 * with a small page, so that a flow can end at the client's redirect URI (`url` + "/callback") and
 * the test read the code from the address. A real server rather than a Playwright route: Chromium
 * follows Hydra's redirect to the client before a route can answer it (seen on port 9, which is also
 * a port Chromium refuses as unsafe).
 */
export async function startClientStub(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end('<!doctype html><html lang="en"><title>Client callback</title><p>callback</p></html>');
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * axe-core with the WCAG 2.x A/AA rules; fails listing every violation and its elements. The app's
 * pages have no frames, so axe runs in the page itself (legacy mode: without it AxeBuilder opens a
 * blank page for every analysis, about 1.5 s each here) and reports violations only.
 */
export async function checkA11y(page: Page, label: string): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(AXE_TAGS).options({ resultTypes: ["violations"] }).setLegacyMode(true).analyze();
  if (result.violations.length === 0) return;
  const lines = result.violations.map(
    (v) => `- ${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(" ")}: ${n.failureSummary?.replace(/\s+/g, " ")}`).join("\n")}`,
  );
  throw new Error(`axe: ${result.violations.length} violation(s) on ${label} (${page.url()}):\n${lines.join("\n")}`);
}

/** Fails when the page is wider than its viewport (horizontal scrolling), naming the elements that stick out. */
export async function checkNoHorizontalScroll(page: Page, label = page.url()): Promise<void> {
  // Against the viewport's own width: a page without <meta name="viewport"> is laid out 980px wide
  // on a phone (and zoomed out), which is as bad as scrolling.
  const viewportWidth = page.viewportSize()?.width ?? VIEWPORTS.phone.width;
  const found = await page.evaluate((viewportWidth) => {
    const width = Math.min(viewportWidth, document.documentElement.clientWidth);
    const scrollWidth = document.documentElement.scrollWidth;
    const wide: string[] = [];
    if (scrollWidth > width) {
      for (const el of Array.from(document.body.querySelectorAll("*") as ArrayLike<Element>)) {
        const r = el.getBoundingClientRect();
        if (r.right > width + 0.5) wide.push(`${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.className && typeof el.className === "string" ? `.${el.className.split(/\s+/).join(".")}` : ""} (right edge ${Math.round(r.right)}px)`);
      }
    }
    return { width, scrollWidth, wide: wide.slice(0, 10) };
  }, viewportWidth);
  if (found.scrollWidth > found.width) {
    throw new Error(`${label} scrolls horizontally: ${found.scrollWidth}px wide in a ${found.width}px viewport; sticking out:\n  ${found.wide.join("\n  ")}`);
  }
}

/** A full-page screenshot as test-artifacts/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name.replace(/[^a-z0-9._-]+/gi, "-")}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * The README's pictures of a page: at 800×900 (or 800×`height`; the visible part, not the full page) as
 * docs/screenshots/<name>.png and, with dark, <name>-dark.png (prefers-color-scheme emulated). A file
 * is only rewritten when its bytes change. The page's viewport and colour scheme are restored after.
 */
export async function docsScreenshots(page: Page, name: string, opts: { schemes?: ColorScheme[]; restoreScheme?: ColorScheme; height?: number } = {}): Promise<string[]> {
  mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
  const before = page.viewportSize();
  const written: string[] = [];
  await page.setViewportSize({ width: DOCS_VIEWPORT.width, height: opts.height ?? DOCS_VIEWPORT.height });
  try {
    for (const scheme of opts.schemes ?? ["light", "dark"]) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.evaluate(() => window.scrollTo(0, 0));
      const png = await page.screenshot({ animations: "disabled", caret: "hide" });
      const file = path.join(DOCS_SCREENSHOT_DIR, `${name}${scheme === "dark" ? "-dark" : ""}.png`);
      if (!existsSync(file) || !readFileSync(file).equals(png)) writeFileSync(file, png);
      written.push(file);
    }
  } finally {
    await page.emulateMedia({ colorScheme: opts.restoreScheme ?? "light" });
    if (before) await page.setViewportSize(before);
  }
  return written;
}

/**
 * Keyboard only: presses Tab until the focused element matches `selector` (at most `maxPresses`
 * times), failing when it is never reached or when anything Tab stops at on the way has no
 * :focus-visible. Returns the number of presses.
 */
export async function tabTo(page: Page, selector: string, maxPresses = 40): Promise<number> {
  for (let press = 1; press <= maxPresses; press++) {
    await page.keyboard.press("Tab");
    const now = await page.evaluate((selector) => {
      const el = document.activeElement;
      if (!el || el === document.body) return { match: false, visible: true, what: "body" };
      // Shown: :focus-visible with a drawn outline or a focus shadow (the app's focus style).
      const s = getComputedStyle(el);
      const drawn = (s.outlineStyle !== "none" && (parseFloat(s.outlineWidth) || 0) > 0) || (s.boxShadow && s.boxShadow !== "none");
      return { match: el.matches(selector), visible: el.matches(":focus-visible") && Boolean(drawn), what: `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""} "${(el.textContent ?? "").trim().slice(0, 30)}"` };
    }, selector);
    if (!now.visible) throw new Error(`Tab reached ${now.what} on ${page.url()} without a visible focus`);
    if (now.match) return press;
  }
  throw new Error(`Tab never reached ${selector} on ${page.url()} (${maxPresses} presses)`);
}

const ACTIONS = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';

/**
 * Keyboard alone: presses Tab from the start of the page until every action (link, button, input,
 * select, textarea, summary, element with a tabindex; visible and enabled) has had focus, and checks
 * that each one shows its focus: while focused it matches :focus-visible and its outline (not
 * "none", wider than 0) or box-shadow, border colour or background colour differs from how it looks
 * unfocused (read after Tab moved on). Fails naming the actions never reached and those without a
 * visible focus. Marks the page's actions with a data-kb attribute (run it after screenshots).
 */
export async function checkKeyboard(page: Page, label = page.url()): Promise<void> {
  const ids: string[] = await page.evaluate((selector) => {
    // checkVisibility: not in a skipped subtree either, such as the content of a closed <details>
    // (which has a size, yet Tab rightly passes it by).
    const visible = (el: Element) => {
      const r = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none" && (typeof el.checkVisibility !== "function" || el.checkVisibility());
    };
    return Array.from(document.querySelectorAll(selector) as ArrayLike<Element>)
      .filter((el) => visible(el) && !(el as HTMLButtonElement).disabled)
      .map((el, i) => {
        const id = `${i}:${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : ""} "${(el.textContent ?? "").replace(/\s+/g, " ").trim().slice(0, 30)}"`;
        el.setAttribute("data-kb", id);
        return id;
      });
  }, ACTIONS);

  // Start before the first element of the page: whatever has focus (autofocus) loses it, and the
  // sequential focus navigation starting point is the document's start.
  await page.evaluate(() => {
    (document.activeElement as HTMLElement | null)?.blur();
    window.getSelection()?.removeAllRanges();
    window.scrollTo(0, 0);
  });

  type Look = { outline: string; outlineWidth: number; boxShadow: string; borderColor: string; background: string };
  const reached = new Map<string, { focusVisible: boolean; focused: Look; unfocused?: Look }>();
  let previous: string | undefined;
  const maxPresses = ids.length * 2 + 10;
  for (let press = 0; press < maxPresses && reached.size < ids.length; press++) {
    await page.keyboard.press("Tab");
    const now = await page.evaluate((prev) => {
      const look = (el: Element) => {
        const s = getComputedStyle(el);
        return { outline: `${s.outlineStyle} ${s.outlineColor}`, outlineWidth: parseFloat(s.outlineWidth) || 0, boxShadow: s.boxShadow, borderColor: s.borderColor, background: s.backgroundColor };
      };
      const active = document.activeElement;
      const before = prev ? document.querySelector(`[data-kb="${CSS.escape(prev)}"]`) : null;
      return {
        id: active?.getAttribute("data-kb") ?? null,
        focusVisible: active ? active.matches(":focus-visible") : false,
        focused: active && active !== document.body ? look(active) : null,
        previousUnfocused: before && before !== active ? look(before) : null,
      };
    }, previous ?? null);
    if (previous && now.previousUnfocused && reached.has(previous)) reached.get(previous)!.unfocused ??= now.previousUnfocused;
    if (now.id && now.focused && !reached.has(now.id)) reached.set(now.id, { focusVisible: now.focusVisible, focused: now.focused });
    previous = now.id ?? undefined;
  }
  // The last one reached: its unfocused look, after moving on.
  if (previous && reached.has(previous) && !reached.get(previous)!.unfocused) {
    await page.keyboard.press("Tab");
    const look = await page.evaluate((prev) => {
      const el = document.querySelector(`[data-kb="${CSS.escape(prev)}"]`);
      if (!el || el === document.activeElement) return null;
      const s = getComputedStyle(el);
      return { outline: `${s.outlineStyle} ${s.outlineColor}`, outlineWidth: parseFloat(s.outlineWidth) || 0, boxShadow: s.boxShadow, borderColor: s.borderColor, background: s.backgroundColor };
    }, previous);
    if (look) reached.get(previous)!.unfocused = look;
  }

  const problems: string[] = [];
  for (const id of ids) {
    const r = reached.get(id);
    if (!r) {
      problems.push(`not reachable by Tab: ${id}`);
      continue;
    }
    const f = r.focused;
    const u = r.unfocused;
    const outlineShown = !f.outline.startsWith("none") && f.outlineWidth > 0 && (!u || f.outline !== u.outline || f.outlineWidth !== u.outlineWidth);
    const changed = !!u && (f.boxShadow !== u.boxShadow || f.borderColor !== u.borderColor || f.background !== u.background);
    if (!r.focusVisible || !(outlineShown || changed)) problems.push(`no visible focus: ${id} (focused: ${JSON.stringify(f)}, unfocused: ${JSON.stringify(u ?? null)})`);
  }
  if (problems.length) throw new Error(`keyboard check on ${label}:\n  ${problems.join("\n  ")}`);
}

/** Milliseconds spent in each kind of check (for measuring the suite; see checkTimings). */
export const checkTimings: Record<"screenshot" | "axe" | "scroll" | "keyboard", number> = { screenshot: 0, axe: 0, scroll: 0, keyboard: 0 };
async function timed<T>(kind: keyof typeof checkTimings, run: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await run();
  } finally {
    checkTimings[kind] += Date.now() - start;
  }
}

/**
 * Every check on one of the app's pages: screenshot (<name>-<viewport>[-<tag>]), axe, at the phone
 * size no horizontal scrolling, and (unless keyboard: false) the keyboard check. `tag` names a
 * variant (e.g. "de-dark") in the screenshot's name and in messages.
 */
export async function checkPage(page: Page, name: string, viewport: ViewportName, opts: { keyboard?: boolean; tag?: string } = {}): Promise<void> {
  const suffix = opts.tag ? `-${opts.tag}` : "";
  const label = `${name} (${viewport}${opts.tag ? `, ${opts.tag}` : ""})`;
  await page.waitForLoadState("load");
  await timed("screenshot", () => screenshot(page, `${name}-${viewport}${suffix}`));
  await timed("axe", () => checkA11y(page, label));
  if (viewport === "phone") await timed("scroll", () => checkNoHorizontalScroll(page, label));
  if (opts.keyboard !== false) await timed("keyboard", () => checkKeyboard(page, label));
}
