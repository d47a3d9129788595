// The deployment's brand (pure): colours keep WCAG AA contrast in both schemes; logos come from this origin only.
import { brandFor, contrastRatio, darkSchemeAccent, DARK, isSameOriginImage, parseHex, primaryColorProblem } from "../../src/decisions/brand";
import { loadEnv } from "../../src/config/env";

describe("colours", () => {
  test.each<[string, string, number]>([
    ["#000000", "#ffffff", 21],
    ["#ffffff", "#ffffff", 1],
    ["#2a5bd7", "#ffffff", 5.83],
  ])("contrast %s on %s ≈ %d", (a, b, expected) => {
    expect(contrastRatio(a, b)).toBeCloseTo(expected, 1);
  });

  test.each<[string, string | null]>([
    ["#2a5bd7", null],
    ["#25d", null],
    ["#000", null],
    ["#ffcc00", "has a contrast of 1.51:1 with white; buttons and links need at least 4.5:1 (choose a darker colour)"],
    ["#2a5bd", "must be a hex colour such as #2a5bd7"],
    ["blue", "must be a hex colour such as #2a5bd7"],
  ])("primary %s → %p", (hex, expected) => {
    expect(primaryColorProblem(hex)).toBe(expected);
  });

  test.each(["#2a5bd7", "#000000", "#8a1c12", "#1b5e31", "#5a2a82"])("the dark scheme's shade of %s reads on both dark backgrounds (4.5:1)", (hex) => {
    const accent = darkSchemeAccent(hex);
    expect(parseHex(accent)).not.toBeNull();
    expect(contrastRatio(accent, DARK.surface)).toBeGreaterThanOrEqual(4.5);
    expect(contrastRatio(accent, DARK.background)).toBeGreaterThanOrEqual(4.5);
  });

  test("BRAND_PRIMARY_COLOR with too little contrast stops start-up, naming it", () => {
    const base = { DATABASE_URL: "postgresql://localhost/x", HYDRA_ADMIN_URL: "http://127.0.0.1:4445", SESSION_SECRETS: "s".repeat(32) };
    expect(() => loadEnv({ ...base, BRAND_PRIMARY_COLOR: "#ffcc00" })).toThrow(/BRAND_PRIMARY_COLOR has a contrast of 1\.51:1/);
    expect(() => loadEnv({ ...base, BRAND_LOGO_URL: "https://cdn.example/logo.svg" })).toThrow(/BRAND_LOGO_URL must be a path on this site/);
    expect(() => loadEnv({ ...base, BRAND_SUPPORT_URL: "javascript:alert(1)" })).toThrow(/BRAND_SUPPORT_URL must be an https: or mailto: URL/);
    expect(loadEnv({ ...base, BRAND_SUPPORT_URL: "mailto:help@example.com" }).BRAND_SUPPORT_URL).toBe("mailto:help@example.com");
  });
});

describe("logos", () => {
  test.each<[string, boolean]>([
    ["/brand/logo.svg", true],
    ["/static/favicon.svg", true],
    ["data:image/png;base64,iVBORw0KGgo=", true],
    ["data:image/svg+xml;base64,PHN2Zz4=", true],
    ["//cdn.example/logo.svg", false],
    ["/\\cdn.example/logo.svg", false],
    ["https://cdn.example/logo.svg", false],
    ["data:text/html;base64,PGgxPg==", false],
    ["javascript:alert(1)", false],
    ["brand/logo.svg", false],
  ])("%s → %p", (value, expected) => {
    expect(isSameOriginImage(value)).toBe(expected);
  });

  test("an audience overrides the name and the logo, not the colour or the support link", () => {
    const settings = { productName: "Acme ID", logoUrl: "/brand/acme.svg", supportUrl: "https://help.acme.example", primaryColor: "#2a5bd7" };
    expect(brandFor(settings)).toMatchObject({ name: "Acme ID", logo: "/brand/acme.svg" });
    expect(brandFor(settings, { brandName: "Shop", brandLogo: null })).toMatchObject({ name: "Shop", logo: "/brand/acme.svg", supportUrl: "https://help.acme.example" });
    expect(brandFor(settings, { brandName: null, brandLogo: "/brand/shop.svg" })).toMatchObject({ name: "Acme ID", logo: "/brand/shop.svg" });
  });
});
