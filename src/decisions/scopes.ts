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
