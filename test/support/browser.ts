// A minimal browser for end-to-end tests: keeps cookies (tough-cookie), follows redirects one by
// one, parses pages (cheerio) and submits their forms the way a browser would.
import * as cheerio from "cheerio";
import { CookieJar } from "tough-cookie";

export interface Page {
  url: string;
  status: number;
  html: string;
  $: cheerio.CheerioAPI;
  /** Every URL visited to get here, first to last. */
  chain: string[];
  /** The text of an element, trimmed ("" when absent). */
  text(selector: string): string;
}

export interface NavigateOptions {
  /** Stop (without fetching) when a redirect leads to a URL starting with one of these, e.g. a client's redirect URI. */
  stopAt?: string[];
}

export class Browser {
  readonly jar = new CookieJar();

  async fetch(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {}): Promise<Response> {
    const cookie = await this.jar.getCookieString(url);
    const headers: Record<string, string> = { accept: "text/html", ...init.headers };
    if (cookie) headers.cookie = cookie;
    if (init.body) headers["content-type"] = "application/x-www-form-urlencoded";
    const res = await fetch(url, { method: init.method ?? "GET", body: init.body, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) await this.jar.setCookie(c, url, { ignoreError: true });
    return res;
  }

  /** Closes and reopens the browser: the cookies without an expiry (session cookies) are gone. */
  async restart(): Promise<void> {
    for (const c of await this.jar.store.getAllCookies()) {
      if (!c.isPersistent()) await this.jar.store.removeCookie(c.domain, c.path, c.key);
    }
  }

  /** The cookie the browser sends to `url` whose name starts with `prefix` (Hydra's carry a suffix in --dev). */
  async cookie(url: string, prefix: string): Promise<{ key: string; value: string; persistent: boolean; expiresInSeconds: number | null } | undefined> {
    const c = (await this.jar.getCookies(url)).find((k) => k.key.startsWith(prefix));
    if (!c) return undefined;
    const expiry = c.expiryTime();
    return { key: c.key, value: c.value, persistent: c.isPersistent(), expiresInSeconds: expiry === undefined || !Number.isFinite(expiry) ? null : Math.round((expiry - Date.now()) / 1000) };
  }

  /** GET a URL and follow redirects until a page (or a stopAt URL) is reached. */
  async get(url: string, options: NavigateOptions = {}): Promise<Page> {
    return this.follow(await this.fetch(url), url, [url], options);
  }

  async post(url: string, body: URLSearchParams, options: NavigateOptions = {}): Promise<Page> {
    return this.follow(await this.fetch(url, { method: "POST", body }), url, [url], options);
  }

  /**
   * Submits a form of the page: its fields as the page has them, with `fields` overriding them
   * (null removes a field), plus the clicked button's name=value when given.
   */
  /**
   * Submits a form as a browser would: every named input (a checkbox only when checked; a name may
   * repeat), then `fields`, each replacing every input of its name (null: none; an array: several).
   */
  async submit(page: Page, formSelector: string, fields: Record<string, string | string[] | null> = {}, options: NavigateOptions & { button?: [string, string] } = {}): Promise<Page> {
    const form = page.$(formSelector);
    if (form.length === 0) throw new Error(`no form ${formSelector} on ${page.url} (status ${page.status}):\n${page.html.slice(0, 2000)}`);
    const body = new URLSearchParams();
    let values: [string, string][] = [];
    form.find("input").each((_, el) => {
      const input = page.$(el);
      const name = input.attr("name");
      const type = (input.attr("type") ?? "text").toLowerCase();
      if (!name || type === "submit") return;
      if (type === "checkbox" && input.attr("checked") === undefined) return;
      values.push([name, input.attr("value") ?? (type === "checkbox" ? "on" : "")]);
    });
    for (const [k, v] of Object.entries(fields)) {
      const at = values.findIndex(([name]) => name === k);
      values = values.filter(([name]) => name !== k);
      const added = v === null ? [] : (Array.isArray(v) ? v : [v]).map((x): [string, string] => [k, x]);
      values.splice(at === -1 ? values.length : at, 0, ...added);
    }
    for (const [k, v] of values) body.append(k, v);
    if (options.button) body.append(options.button[0], options.button[1]);
    const action = new URL(form.attr("action") ?? page.url, page.url).toString();
    return this.post(action, body, options);
  }

  private async follow(res: Response, url: string, chain: string[], options: NavigateOptions): Promise<Page> {
    for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.get("location"); hops++) {
      if (hops > 20) throw new Error(`too many redirects: ${chain.join(" → ")}`);
      url = new URL(res.headers.get("location")!, url).toString();
      chain.push(url);
      if (options.stopAt?.some((p) => url.startsWith(p))) return page(url, 0, "", chain);
      res = await this.fetch(url);
    }
    return page(url, res.status, await res.text(), chain);
  }
}

function page(url: string, status: number, html: string, chain: string[]): Page {
  const $ = cheerio.load(html);
  return { url, status, html, $, chain, text: (sel) => $(sel).text().replace(/\s+/g, " ").trim() };
}
