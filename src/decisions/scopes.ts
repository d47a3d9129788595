// Built-in OpenID Connect scopes and the standard claims they release (OIDC Core §5.4).

export const BUILT_IN_SCOPES: ReadonlySet<string> = new Set(["openid", "profile", "email", "address", "phone", "offline_access", "offline"]);

/** Standard claim → the scope that releases it, and the user field it comes from. */
export const STANDARD_CLAIM_SOURCES: Readonly<Record<string, { scope: string; source: string }>> = {
  name: { scope: "profile", source: "name" },
  given_name: { scope: "profile", source: "given_name" },
  family_name: { scope: "profile", source: "family_name" },
  email: { scope: "email", source: "email" },
  email_verified: { scope: "email", source: "email_verified" },
};

/** Built-in scopes have their words in the translations (consent:scope.<name>). */
const BUILT_IN_DESCRIBED: ReadonlySet<string> = new Set(["openid", "profile", "email", "address", "phone", "offline_access", "offline"]);

/** A declared description: one text, or one per language ({ en: "…", de: "…" }). */
export type DeclaredDescription = string | Readonly<Record<string, string>>;

/** Scopes that let an application keep access while the person is away (refresh tokens). */
export const OFFLINE_SCOPES: ReadonlySet<string> = new Set(["offline_access", "offline"]);

/**
 * What the consent and account pages say about a scope: its declared description (in the page's
 * language when the configuration has one, else English, else any), a built-in one, or its name.
 */
export function describeScope(scope: string, declared?: DeclaredDescription | null, lng = "en"): { key: string } | string {
  if (typeof declared === "string" && declared) return declared;
  if (declared && typeof declared === "object") {
    const text = (Object.hasOwn(declared, lng) ? declared[lng] : undefined) ?? (Object.hasOwn(declared, "en") ? declared.en : undefined) ?? Object.values(declared)[0];
    if (text) return text;
  }
  return BUILT_IN_DESCRIBED.has(scope) ? { key: `consent:scope.${scope}` } : scope;
}
