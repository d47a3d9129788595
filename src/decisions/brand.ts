// The deployment's brand (pure): colours that keep text readable (WCAG 2.2 AA contrast) in the light
// and dark scheme, and which logo a page shows.

/** "#2a5bd7" or "#25d" → [r, g, b] (0..255); null when not a hex colour. */
export function parseHex(hex: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(hex.trim());
  if (!m) return null;
  const h = m[1]!.length === 3 ? [...m[1]!].map((c) => c + c).join("") : m[1]!;
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as [number, number, number];
}

const toHex = (rgb: readonly number[]) => "#" + rgb.map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");

/** WCAG relative luminance. */
export function luminance([r, g, b]: readonly number[]): number {
  const lin = (v: number) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
}

/** WCAG contrast ratio of two hex colours (1..21). */
export function contrastRatio(a: string, b: string): number {
  const [la, lb] = [luminance(parseHex(a)!), luminance(parseHex(b)!)];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** Page backgrounds and text the stylesheet uses (public/app.css). */
export const LIGHT = { surface: "#ffffff", background: "#f4f5f7" } as const;
export const DARK = { surface: "#1b2130", background: "#11151d" } as const;
export const AA = 4.5;

/** Why a primary colour cannot be used (white button text and links on white need 4.5:1), or null. */
export function primaryColorProblem(hex: string): string | null {
  if (!parseHex(hex)) return "must be a hex colour such as #2a5bd7";
  const ratio = contrastRatio(hex, "#ffffff");
  if (ratio < AA) return `has a contrast of ${ratio.toFixed(2)}:1 with white; buttons and links need at least ${AA}:1 (choose a darker colour)`;
  return null;
}

/** The primary colour lightened (mixed with white) just enough for links on the dark scheme's surface. */
export function darkSchemeAccent(primary: string): string {
  const rgb = parseHex(primary)!;
  for (let w = 0; w <= 1.0001; w += 0.05) {
    const mixed = rgb.map((v) => v + (255 - v) * w);
    const hex = toHex(mixed);
    if (contrastRatio(hex, DARK.surface) >= AA && contrastRatio(hex, DARK.background) >= AA) return hex;
  }
  return "#ffffff";
}

export interface BrandSettings {
  productName: string;
  logoUrl: string | null;
  supportUrl: string | null;
  primaryColor: string;
}

export interface Brand extends BrandSettings {
  /** The name of what the person is signing in to: the audience's override, else the product. */
  name: string;
  logo: string | null;
}

/** The brand of a page: an audience may override the name and the logo. */
export function brandFor(settings: BrandSettings, audience?: { brandName?: string | null; brandLogo?: string | null } | null): Brand {
  return { ...settings, name: audience?.brandName || settings.productName, logo: audience?.brandLogo || settings.logoUrl };
}

/**
 * A logo may come only from this site (a path, e.g. /brand/logo.svg served from BRAND_ASSETS_DIR)
 * or be a data: image, so that the strict Content-Security-Policy (img-src 'self' data:) holds.
 */
export function isSameOriginImage(value: string): boolean {
  if (/^data:image\/(png|gif|jpeg|webp|svg\+xml);base64,[A-Za-z0-9+/=]+$/.test(value)) return true;
  return /^\/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$/.test(value);
}
