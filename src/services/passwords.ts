// Password hashing with argon2id (OWASP-recommended parameters) and strength checks (zxcvbn-ts).
import argon2 from "argon2";
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import * as zxcvbnCommon from "@zxcvbn-ts/language-common";
import * as zxcvbnEn from "@zxcvbn-ts/language-en";
import * as zxcvbnDe from "@zxcvbn-ts/language-de";
import { DEFAULT_LANGUAGE, isLanguage, msg, type Language, type Msg } from "../i18n";

const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, OPTIONS);
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies a password. With no stored hash (unknown email) it still runs one argon2
 * verification, so response time does not reveal whether the account exists.
 */
export async function verifyPassword(hash: string | undefined | null, password: string): Promise<boolean> {
  if (!hash) {
    dummyHash ??= hashPassword("not-a-real-password-" + Math.random());
    await argon2.verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

// ---- strength (zxcvbn-ts: pattern and dictionary based estimate, score 0..4)
//
// One estimator for every language, with the common, English and German dictionaries: whether a
// password is accepted never depends on the page's language. It answers with zxcvbn's translation
// keys (its default); the feedback is put into words per language with zxcvbn-ts's own translations.

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;
const MIN_SCORE = 3;

export type StrengthScore = 0 | 1 | 2 | 3 | 4;

let estimator: ZxcvbnFactory | undefined;
/** The estimator, built on first use (about a second: it ranks the word lists). */
function zxcvbn(): ZxcvbnFactory {
  if (!estimator) {
    // The German lists are named like the common ones ("commonWords"): suffixed, as the English ones are.
    const german = Object.fromEntries(Object.entries(zxcvbnDe.dictionary).map(([name, words]) => [`${name}-de`, words]));
    estimator = new ZxcvbnFactory({
      graphs: zxcvbnCommon.adjacencyGraphs,
      dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEn.dictionary, ...german },
    });
  }
  return estimator;
}

type ZxcvbnTranslations = typeof zxcvbnEn.translations;
const ZXCVBN_TRANSLATIONS: Record<Language, ZxcvbnTranslations> = { en: zxcvbnEn.translations, de: zxcvbnDe.translations };

/** zxcvbn's feedback keys ("similarToCommon", "anotherWord") in a language; unknown keys are left out. */
export function zxcvbnFeedback(feedback: { warning: string | null; suggestions: readonly string[] }, lng: string): string[] {
  const texts = ZXCVBN_TRANSLATIONS[isLanguage(lng) ? lng : DEFAULT_LANGUAGE];
  const warnings = texts.warnings as Record<string, string>;
  const suggestions = texts.suggestions as Record<string, string>;
  const out = [feedback.warning && Object.hasOwn(warnings, feedback.warning) ? warnings[feedback.warning] : null];
  for (const s of feedback.suggestions) out.push(Object.hasOwn(suggestions, s) ? suggestions[s] : null);
  return out.filter((x): x is string => Boolean(x));
}

/** What a password must not be built from: the email, its parts, the name, its words and the name without spaces. */
export function personalInputs(email: string, name: string): string[] {
  const [local = "", domain = ""] = email.toLowerCase().split("@");
  const nameWords = name.toLowerCase().split(/\s+/).filter(Boolean);
  const reversed = [...nameWords].reverse();
  return [
    ...new Set([email.toLowerCase(), local, domain, ...local.split(/[._+-]+/), nameWords.join(" "), nameWords.join(""), reversed.join(" "), reversed.join(""), ...nameWords]),
  ].filter((x) => x.length >= 3);
}

/**
 * Whether the password contains the email's local part, in whole or a long part of it (at least
 * half of it and 6 characters), case-insensitively.
 */
export function containsEmailPart(password: string, email: string): boolean {
  const local = email.toLowerCase().split("@")[0] ?? "";
  const pw = password.toLowerCase();
  if (local.length < 3) return false;
  if (pw.includes(local)) return true;
  const run = Math.max(6, Math.ceil(local.length / 2));
  for (let i = 0; i + run <= local.length; i++) if (pw.includes(local.slice(i, i + run))) return true;
  return false;
}

export interface PasswordStrength {
  /** Whether the password may be used (the rules below and a score of at least 3). */
  acceptable: boolean;
  /** zxcvbn's score (0 for a password too long to be judged). */
  score: StrengthScore;
  /** The rule it breaks (length, the email in it), or null. */
  rule: Msg | null;
  /** zxcvbn's feedback as translation keys (see zxcvbnFeedback). */
  feedback: { warning: string | null; suggestions: string[] };
}

/** Judges a password (no language involved). userInputs: personalInputs(email, name). */
export function passwordStrength(password: string, userInputs: string[]): PasswordStrength {
  if (password.length > PASSWORD_MAX_LENGTH) {
    return { acceptable: false, score: 0, rule: msg("registration:password.tooLong", { max: PASSWORD_MAX_LENGTH }), feedback: { warning: null, suggestions: [] } };
  }
  const result = zxcvbn().check(password, userInputs.filter(Boolean));
  const feedback = { warning: result.feedback.warning ?? null, suggestions: [...result.feedback.suggestions] };
  const email = userInputs.find((x) => x.includes("@"));
  const rule =
    password.length < PASSWORD_MIN_LENGTH
      ? msg("registration:password.tooShort", { min: PASSWORD_MIN_LENGTH })
      : email && containsEmailPart(password, email)
        ? msg("registration:password.containsEmail")
        : null;
  return { acceptable: !rule && result.score >= MIN_SCORE, score: result.score, rule, feedback };
}

/**
 * null when the password is strong enough, else the reason to show the user: a rule it breaks, or
 * "This password is too easy to guess." with zxcvbn's warning and suggestions in `lng` (the page's
 * language: pass lngOf(res)).
 */
export function passwordProblem(password: string, userInputs: string[], lng: string = DEFAULT_LANGUAGE): Msg | null {
  if (password.length < PASSWORD_MIN_LENGTH) return msg("registration:password.tooShort", { min: PASSWORD_MIN_LENGTH });
  if (password.length > PASSWORD_MAX_LENGTH) return msg("registration:password.tooLong", { max: PASSWORD_MAX_LENGTH });
  const strength = passwordStrength(password, userInputs);
  if (strength.rule) return strength.rule;
  if (strength.acceptable) return null;
  const hint = zxcvbnFeedback(strength.feedback, lng).join(" ");
  return hint ? msg("registration:password.tooEasyHint", { hint }) : msg("registration:password.tooEasy");
}
