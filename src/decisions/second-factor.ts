// Pure decisions of second factors: when a sign-in needs one, what it is accepted with (acr, amr),
// and the recovery codes' form.
import { ACR } from "./login";

/** An audience's second-factor policy: off (never asked), optional (asked of users who set one up), required. */
export type MfaPolicy = "off" | "optional" | "required";

/** How a person proved who they are (RFC 8176 amr values). */
export type Method = "pwd" | "otp" | "hwk" | "swk" | "user";
const SECOND_FACTORS: readonly Method[] = ["otp", "hwk", "swk"];

/** Whether `methods` hold a second factor. */
export const hasSecondFactor = (methods: readonly string[]) => methods.some((m) => (SECOND_FACTORS as readonly string[]).includes(m));

/** The acr and amr a login is accepted with, from the methods used: two factors add "mfa" and are aal2. */
export function strengthOf(methods: readonly Method[]): { acr: string; amr: string[] } {
  const amr = [...new Set(methods)];
  return hasSecondFactor(amr) && amr.length > 1 ? { acr: ACR.twoFactors, amr: [...amr, "mfa"] } : { acr: ACR.oneFactor, amr };
}

/** Whether the relying party's acr_values ask for more than one factor (aal2, or the level above it). */
export function asksForTwoFactors(acrValues: readonly string[]): boolean {
  return acrValues.some((v) => v === ACR.twoFactors || v === "aal3");
}

/**
 * The acr_values the relying party sent: Hydra's oidc_context.acr_values, else the authorization
 * request's parameter (space-separated).
 */
export function acrValuesOf(loginRequest: { oidc_context?: { acr_values?: string[] }; request_url: string }): string[] {
  const fromHydra = loginRequest.oidc_context?.acr_values;
  if (fromHydra?.length) return fromHydra;
  try {
    return (new URL(loginRequest.request_url).searchParams.get("acr_values") ?? "").split(" ").filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * What the sign-in needs after what was proved so far (`methods`):
 * - `done`: accept as it is;
 * - `ask`: the user's second factor (the user has one; the audience does not turn them off, or the
 *   relying party or the audience asks for two);
 * - `enrol`: set one up first (two factors are required and the user has none).
 */
export function secondFactorStep(input: { mfa: MfaPolicy; userHasFactor: boolean; methods: readonly string[]; acrValues: readonly string[] }): "done" | "ask" | "enrol" {
  if (hasSecondFactor(input.methods)) return "done";
  const required = input.mfa === "required" || asksForTwoFactors(input.acrValues);
  if (input.userHasFactor) return required || input.mfa === "optional" ? "ask" : "done";
  return required ? "enrol" : "done";
}

/**
 * Recovery codes: ten, each 16 characters of a 32-letter alphabet (80 bits: a SHA-256 of one cannot
 * be reversed by trying), shown in groups of four.
 */
export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32: no i, l, o, u; a typed i or l is read as 1, an o as 0. */
export const RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
const RECOVERY_LENGTH = 16;

/** A recovery code as typed: lower case, without blanks or dashes; null when it cannot be one. */
export function normalizeRecoveryCode(input: string): string | null {
  const s = input.toLowerCase().replace(/[\s-]/g, "").replace(/[il]/g, "1").replace(/o/g, "0");
  if (s.length !== RECOVERY_LENGTH) return null;
  for (const ch of s) if (!RECOVERY_ALPHABET.includes(ch)) return null;
  return s;
}

/** A code from random bytes, grouped: "abcd-efgh-jkmn-pqrs". */
export function formatRecoveryCode(random: Uint8Array): string {
  const letters = Array.from(random.subarray(0, RECOVERY_LENGTH), (b) => RECOVERY_ALPHABET[b % 32]).join("");
  return letters.match(/.{4}/g)!.join("-");
}
