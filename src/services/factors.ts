// Second factors as the flows use them: an authenticator's set-up (a sealed secret, its QR code),
// checking a code against a sealed secret, and new recovery codes with their hashes. The secrets
// are opened only here, for the moment of a check or of the set-up page, and never logged.
import { randomBytes } from "node:crypto";
import { formatRecoveryCode, normalizeRecoveryCode, RECOVERY_CODE_COUNT } from "../decisions/second-factor";
import { recoveryCodeHash } from "../store/second-factors";
import type { SecretBox } from "./secret-box";
import { acceptedStep, newTotpSecret, qrSvg, totpUri } from "./totp";

export interface Enrolment {
  /** What the store keeps. */
  sealedSecret: string;
  /** What the page shows: the secret for typing in, and the QR code (SVG markup) of its otpauth URI. */
  secret: string;
  qr: string;
}

export interface Factors {
  /** A new authenticator secret for the user, sealed, with what the set-up page shows. */
  enrolment(user: { id: string; email: string }, issuer: string): Promise<Enrolment>;
  /** What the set-up page shows again for a secret started earlier. */
  shown(user: { id: string; email: string }, issuer: string, sealedSecret: string): Promise<Omit<Enrolment, "sealedSecret">>;
  /** The time step of a right code later than `lastStep`, else null (a wrong, malformed or replayed code). */
  checkCode(userId: string, sealedSecret: string, code: string, lastStep: number | null): number | null;
  /** Ten new recovery codes (shown once) and their hashes (stored). */
  newRecoveryCodes(userId: string): { codes: string[]; hashes: string[] };
  /** The stored hash of a typed recovery code, or null when it cannot be one. */
  recoveryCodeHash(userId: string, typed: string): string | null;
}

const boundTo = (userId: string) => `totp:${userId}`;

export function createFactors(box: SecretBox): Factors {
  const show = async (user: { id: string; email: string }, issuer: string, secret: string) => ({
    secret,
    qr: await qrSvg(totpUri({ issuer, account: user.email, secret })),
  });
  return {
    async enrolment(user, issuer) {
      const secret = newTotpSecret();
      return { sealedSecret: box.seal(secret, boundTo(user.id)), ...(await show(user, issuer, secret)) };
    },
    shown(user, issuer, sealedSecret) {
      return show(user, issuer, box.open(sealedSecret, boundTo(user.id)));
    },
    checkCode(userId, sealedSecret, code, lastStep) {
      return acceptedStep(box.open(sealedSecret, boundTo(userId)), code.replace(/\s/g, ""), lastStep);
    },
    newRecoveryCodes(userId) {
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => formatRecoveryCode(randomBytes(16)));
      return { codes, hashes: codes.map((c) => recoveryCodeHash(userId, normalizeRecoveryCode(c)!)) };
    },
    recoveryCodeHash(userId, typed) {
      const code = normalizeRecoveryCode(typed);
      return code ? recoveryCodeHash(userId, code) : null;
    },
  };
}
