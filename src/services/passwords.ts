// Password hashing with argon2id (OWASP-recommended parameters) and strength checks (zxcvbn-ts).
import argon2 from "argon2";
import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import * as zxcvbnCommon from "@zxcvbn-ts/language-common";
import * as zxcvbnEn from "@zxcvbn-ts/language-en";

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

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 256;
const MIN_SCORE = 3;

let zxcvbn: ZxcvbnFactory | undefined;

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

/** null when the password is strong enough, else the reason to show the user. */
export function passwordProblem(password: string, userInputs: string[]): string | null {
  if (password.length < PASSWORD_MIN_LENGTH) return `The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`;
  if (password.length > PASSWORD_MAX_LENGTH) return `The password must be at most ${PASSWORD_MAX_LENGTH} characters long.`;
  const email = userInputs.find((x) => x.includes("@"));
  if (email && containsEmailPart(password, email)) return "The password must not contain your email address or a large part of it.";
  zxcvbn ??= new ZxcvbnFactory({
    translations: zxcvbnEn.translations,
    graphs: zxcvbnCommon.adjacencyGraphs,
    dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEn.dictionary },
  });
  const result = zxcvbn.check(password, userInputs.filter(Boolean));
  if (result.score >= MIN_SCORE) return null;
  const hint = [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(" ");
  return `This password is too easy to guess.${hint ? ` ${hint}` : ""}`;
}
