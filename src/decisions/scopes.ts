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

const BUILT_IN_DESCRIPTIONS: Readonly<Record<string, string>> = {
  openid: "Sign you in with your account",
  profile: "Your name",
  email: "Your email address",
  address: "Your postal address",
  phone: "Your phone number",
  offline_access: "Stay connected when you are not using it",
  offline: "Stay connected when you are not using it",
};

/** What the consent page says about a scope: its declared description, a built-in one, or its name. */
export function describeScope(scope: string, declared?: string): string {
  return declared ?? (Object.hasOwn(BUILT_IN_DESCRIPTIONS, scope) ? BUILT_IN_DESCRIPTIONS[scope] : undefined) ?? scope;
}
