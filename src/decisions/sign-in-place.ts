// Where a sign-in came from, as /account and the notice mail tell it: the browser and system named
// from the user agent (a small table of the browsers people use, no library: the words only need
// to be recognisable), and the network of the address (/24, /48), never the address itself and
// never a lookup at a third party.
import { isIP } from "node:net";

/** The user agent as stored: enough to name the browser, not a place to keep kilobytes. */
export const USER_AGENT_MAX = 400;

export interface BrowserName {
  /** "Firefox", "Chrome", …; null when unknown. */
  browser: string | null;
  /** "Windows", "macOS", "Android", …; null when unknown. */
  os: string | null;
}

// First match wins: browsers that also say "Chrome" or "Safari" come before those words.
const BROWSERS: readonly [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, "Edge"],
  [/\b(OPR|Opera)\//, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bVivaldi\//, "Vivaldi"],
  [/\b(Firefox|FxiOS)\//, "Firefox"],
  [/\b(Chrome|CriOS|HeadlessChrome|Chromium)\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
  [/\b(iPhone|iPad)\b.*\bAppleWebKit\//, "Safari"],
];

const SYSTEMS: readonly [RegExp, string][] = [
  [/\bWindows (NT|Phone)\b/, "Windows"],
  [/\biPad\b/, "iPadOS"],
  [/\b(iPhone|iPod)\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bMac OS X\b|\bMacintosh\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

/** The browser and system a user agent names ("Mozilla/5.0 (Windows NT 10.0; …) … Chrome/…" → Chrome, Windows). */
export function nameBrowser(userAgent: string | undefined | null): BrowserName {
  const ua = (userAgent ?? "").slice(0, USER_AGENT_MAX);
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1] ?? null;
  const os = SYSTEMS.find(([re]) => re.test(ua))?.[1] ?? null;
  return { browser, os };
}

/** The eight groups of an IPv6 address (with "::" expanded), or null. */
function ipv6Groups(ip: string): number[] | null {
  const [head, tail, ...more] = ip.split("::");
  if (more.length) return null;
  const part = (s: string | undefined) => (s ? s.split(":") : []);
  const h = part(head);
  const t = part(tail);
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  if (fill < 0 || (tail === undefined && h.length !== 8)) return null;
  const groups = [...h, ...Array<string>(fill).fill("0"), ...t].map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN));
  return groups.length === 8 && groups.every((g) => !Number.isNaN(g)) ? groups : null;
}

/**
 * The network an address belongs to, as far as it may be told: IPv4 cut to /24 ("203.0.113.0/24"),
 * IPv6 to /48 ("2001:db8:12::/48"), an IPv4-mapped IPv6 address as IPv4. Anything else: "unknown".
 */
export function networkOf(ip: string | undefined | null): string {
  let addr = (ip ?? "").trim().replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr);
  if (mapped) addr = mapped[1]!;
  const kind = isIP(addr);
  if (kind === 4) return `${addr.split(".").slice(0, 3).join(".")}.0/24`;
  if (kind === 6) {
    const groups = ipv6Groups(addr.toLowerCase());
    if (!groups) return "unknown";
    const [a, b, c] = groups.map((g) => g.toString(16));
    // Written short, as addresses are: trailing zero groups of the prefix folded into "::".
    const kept = [a, b, c];
    while (kept.length && kept[kept.length - 1] === "0") kept.pop();
    return `${kept.join(":")}::/48`;
  }
  return "unknown";
}
