// The benchmark's virtual browser: keep-alive HTTP/1.1 (node:http), a cookie jar per origin, and the
// forms of a page read with a few regular expressions. Deliberately light (no cheerio, no
// tough-cookie, no fetch): the driver shares the machine's two cores with the apps it measures.
import http from "node:http";

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function newAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: 4 });
}

/** One HTTP request over the agent's keep-alive connections; the whole body is read. */
export function httpRequest(
  agent: http.Agent,
  method: string,
  url: URL,
  headers: Record<string, string>,
  body?: string,
  timeoutMs = 30_000,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined) h["content-length"] = String(Buffer.byteLength(body));
    const req = http.request(
      { agent, method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: h, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${url.origin}${url.pathname} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/**
 * Cookies per origin (scheme://host:port). Browsers ignore the port for cookies, but the app and its
 * Hydra are different hosts in any real deployment; here they share 127.0.0.1, so the jar keys by
 * origin to send each server only its own cookies. Path, Secure and SameSite are not modelled
 * (every cookie here is for "/" over http).
 */
export class Jar {
  private readonly byOrigin = new Map<string, Map<string, string>>();

  header(url: URL): string | undefined {
    const m = this.byOrigin.get(url.origin);
    if (!m || m.size === 0) return undefined;
    let out = "";
    for (const [k, v] of m) out += (out ? "; " : "") + `${k}=${v}`;
    return out;
  }

  store(url: URL, setCookie: string[] | undefined): void {
    if (!setCookie) return;
    let m = this.byOrigin.get(url.origin);
    if (!m) this.byOrigin.set(url.origin, (m = new Map()));
    for (const line of setCookie) {
      const parts = line.split(";");
      const first = parts[0] ?? "";
      const eq = first.indexOf("=");
      if (eq <= 0) continue;
      const name = first.slice(0, eq).trim();
      const value = first.slice(eq + 1).trim();
      let expired = false;
      for (const attr of parts.slice(1)) {
        const [k = "", v = ""] = attr.split("=", 2).map((s) => s.trim());
        const key = k.toLowerCase();
        if (key === "max-age" && Number(v) <= 0) expired = true;
        if (key === "expires" && Date.parse(v) < Date.now()) expired = true;
      }
      if (expired) m.delete(name);
      else m.set(name, value);
    }
  }

  /** Forgets every cookie of an origin (e.g. Hydra's, to make a browser "returning" without Hydra's sign-in). */
  clear(origin: string): void {
    this.byOrigin.delete(origin);
  }

  names(origin: string): string[] {
    return [...(this.byOrigin.get(origin)?.keys() ?? [])];
  }
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", "#39": "'", "#x27": "'", "#34": '"', "#x2F": "/", "#61": "=", "#x3D": "=" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (ENTITIES[e] !== undefined) return ENTITIES[e]!;
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return m;
  });
}

function attrs(tag: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const re = /([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
  for (let m = re.exec(tag); m; m = re.exec(tag)) out.set(m[1]!.toLowerCase(), m[2] ?? m[3] ?? m[4]);
  return out;
}

export interface Form {
  action: string;
  fields: [string, string][];
}

/** The form with this id: its action and the fields a browser would submit (unchecked checkboxes and buttons left out). */
export function findForm(html: string, id: string): Form | undefined {
  const re = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const a = attrs(m[1]!);
    if (a.get("id") !== id) continue;
    const fields: [string, string][] = [];
    const inputRe = /<input\b([^>]*)>/gi;
    for (let i = inputRe.exec(m[2]!); i; i = inputRe.exec(m[2]!)) {
      const ia = attrs(i[1]!);
      const name = ia.get("name");
      const type = (ia.get("type") ?? "text").toLowerCase();
      if (!name || type === "submit" || type === "button") continue;
      if ((type === "checkbox" || type === "radio") && !ia.has("checked")) continue;
      fields.push([decodeEntities(name), decodeEntities(ia.get("value") ?? (type === "checkbox" ? "on" : ""))]);
    }
    return { action: decodeEntities(a.get("action") ?? ""), fields };
  }
  return undefined;
}
