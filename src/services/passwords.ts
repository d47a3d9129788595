// Password hashing with argon2id (OWASP-recommended parameters) and strength checks (zxcvbn-ts).
//
// Memory (one instance stays under 150 MiB under load).
// - An argon2id hash or verification holds 12 MiB (memoryCost) for its ~20 ms of CPU on a thread
//   of libuv's pool (4 threads). glibc keeps a freed block of that size in the malloc arena of the
//   thread that used it, one arena per thread: left alone, 8 sign-ins at once leave some 50 MiB
//   behind. Two things bound it: at most PASSWORD_HASH_CONCURRENCY hashes run at once here (the
//   others wait their turn, in order), and the Dockerfile and the Helm chart run the server with
//   MALLOC_ARENA_MAX=1, so that every thread's blocks come from one arena that keeps only what
//   that many hashes use at once. (A fixed MALLOC_MMAP_THRESHOLD_ returns the blocks instead, but
//   every hash then faults its block in again: ~29 ms instead of ~18.)
// - zxcvbn's word lists are loaded on the first strength check, not at start-up (signing in never
//   needs them), ranked into compact tables (ranked-words.ts) and then dropped: about 8 MB stay
//   (3 MiB of it V8 heap) instead of some 30 MiB of V8 heap from start-up on.
import { availableParallelism } from "node:os";
import argon2 from "argon2";
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";
import { DEFAULT_LANGUAGE, isLanguage, msg, type Language, type Msg } from "../i18n";
import { createGate } from "./gate";
import { rankWords } from "./ranked-words";

/**
 * OWASP's argon2id configuration with 12 MiB (m=12 MiB, t=3, p=1), of the same strength as its
 * 19 MiB, t=2 one at about the same CPU, and 7 MiB smaller: two hashes at once fit an instance's
 * 150 MiB. Hashes made with other parameters still verify (argon2 reads them from the hash).
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 12_288, timeCost: 3, parallelism: 1 } as const;

/**
 * At most this many argon2 hashes or verifications run at once unless PASSWORD_HASH_CONCURRENCY
 * says otherwise: the most whose blocks fit the 150 MiB of an instance at 8 parallel sign-ins
 * (measured: 143 MiB peak with two, 127–133 with one).
 */
export const MAX_DEFAULT_HASH_CONCURRENCY = 2;

/**
 * The default: one hash per core beyond the first, within the memory bound. The first core stays
 * with the event loop (and with Hydra and PostgreSQL where they share the machine): on 2 cores, two
 * hashes at once made 8 parallel sign-ins slower, not faster (npm run bench, first-time at C=8: 0.87
 * and 0.93 of the reference with two, 1.37 and 1.10 with one).
 */
export function defaultHashConcurrency(cores: number = availableParallelism()): number {
  return Math.max(1, Math.min(cores - 1, MAX_DEFAULT_HASH_CONCURRENCY));
}

const hashing = createGate(defaultHashConcurrency());

/** Sets how many argon2 hashes or verifications may run at once (a whole number ≥ 1). */
export function setPasswordHashConcurrency(n: number): void {
  hashing.limit = n;
}

/** argon2 work running now and waiting for its turn (e.g. for a metrics gauge). */
export function passwordHashLoad(): { active: number; waiting: number } {
  return { active: hashing.active, waiting: hashing.waiting };
}

export function hashPassword(password: string): Promise<string> {
  return hashing.run(() => argon2.hash(password, OPTIONS));
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies a password. With no stored hash (unknown email) it still runs one argon2
 * verification, so response time does not reveal whether the account exists.
 */
export async function verifyPassword(hash: string | undefined | null, password: string): Promise<boolean> {
  if (!hash) {
    dummyHash ??= hashPassword("not-a-real-password-" + Math.random());
    const dummy = await dummyHash;
    await hashing.run(() => argon2.verify(dummy, password)).catch(() => false);
    return false;
  }
  try {
    return await hashing.run(() => argon2.verify(hash, password));
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

type ZxcvbnTranslations = typeof import("@zxcvbn-ts/language-en").translations;
type WordLists = Record<string, (string | number)[]>;

let loaded: { estimator: ZxcvbnFactory; translations: Record<Language, ZxcvbnTranslations> } | undefined;
/**
 * The estimator and zxcvbn-ts's translations of its feedback keys, loaded on first use (a few
 * hundred milliseconds). The word lists' packages are required here, ranked into compact tables (ranked-words.ts),
 * and then dropped from the module cache, so that only the tables stay in memory.
 */
function zxcvbn(): NonNullable<typeof loaded> {
  if (!loaded) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const core = require("@zxcvbn-ts/core") as typeof import("@zxcvbn-ts/core");
    const common = require("@zxcvbn-ts/language-common") as typeof import("@zxcvbn-ts/language-common");
    const en = require("@zxcvbn-ts/language-en") as typeof import("@zxcvbn-ts/language-en");
    const de = require("@zxcvbn-ts/language-de") as typeof import("@zxcvbn-ts/language-de");
    /* eslint-enable @typescript-eslint/no-require-imports */
    // The German lists are named like the common ones ("commonWords"): suffixed, as the English ones are.
    const german = Object.fromEntries(Object.entries(de.dictionary).map(([name, words]) => [`${name}-de`, words]));
    const lists: WordLists = { ...common.dictionary, ...en.dictionary, ...german };
    loaded = { estimator: compactEstimator(core.ZxcvbnFactory, common.adjacencyGraphs, lists), translations: { en: en.translations, de: de.translations } };
    forgetWordListModules();
  }
  return loaded;
}

/**
 * A ZxcvbnFactory whose ranked dictionaries are ranked-words.ts's tables instead of zxcvbn-ts's
 * plain objects (same ranks, same answers, a fraction of the memory). zxcvbn-ts builds them in a
 * private field; should that field ever change shape, or the tables not be used, the factory is
 * built the plain way.
 */
function compactEstimator(Factory: typeof ZxcvbnFactory, graphs: Record<string, unknown>, lists: WordLists): ZxcvbnFactory {
  const names = Object.keys(lists);
  const estimator = new Factory({ graphs: graphs as never, dictionary: Object.fromEntries(names.map((name) => [name, []])) });
  const options = (estimator as unknown as { options?: { rankedDictionaries?: Record<string, unknown>; rankedDictionariesMaxWordSize?: Record<string, number> } }).options;
  const ranked = options?.rankedDictionaries;
  const maxWordSize = options?.rankedDictionariesMaxWordSize;
  if (ranked && maxWordSize && names.every((name) => Object.hasOwn(ranked, name) && Object.hasOwn(maxWordSize, name))) {
    for (const name of names) {
      const table = rankWords(lists[name]!);
      ranked[name] = table.words;
      maxWordSize[name] = table.maxWordSize;
    }
    // The tables are read: the most common password is found in the common list.
    const first = estimator.check("123456", []).sequence[0] as { pattern?: string; dictionaryName?: string; rank?: number } | undefined;
    if (first?.pattern === "dictionary" && first.dictionaryName === "passwords-common" && first.rank === 1) return estimator;
  }
  return new Factory({ graphs: graphs as never, dictionary: lists });
}

/** The word lists' modules (and their decompressor) out of the module cache: nothing refers to their arrays any more. */
const WORD_LIST_MODULE = /[\\/]@zxcvbn-ts[\\/](?:language-[^\\/]+|dictionary-compression)[\\/]/;
function forgetWordListModules(): void {
  const cache = require.cache;
  for (const file of Object.keys(cache)) if (WORD_LIST_MODULE.test(file)) delete cache[file];
  for (const m of Object.values(cache)) if (m && Array.isArray(m.children)) m.children = m.children.filter((child) => !WORD_LIST_MODULE.test(child.filename));
}

/** zxcvbn's feedback keys ("similarToCommon", "anotherWord") in a language; unknown keys are left out. */
export function zxcvbnFeedback(feedback: { warning: string | null; suggestions: readonly string[] }, lng: string): string[] {
  const texts = zxcvbn().translations[isLanguage(lng) ? lng : DEFAULT_LANGUAGE];
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
  const result = zxcvbn().estimator.check(password, userInputs.filter(Boolean));
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
