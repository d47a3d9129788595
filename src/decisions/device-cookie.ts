// OWASP's device cookie against account lockout
// (https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies):
// a browser that signed in successfully keeps a signed token naming the account; failed sign-ins
// from such a browser count against that device only, failures from unknown browsers lock out
// unknown browsers only. So a stranger guessing passwords cannot keep the owner out.
// Pure functions: the HMAC key is passed in, no I/O.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** At most this many accounts are remembered per browser (most recent first). */
export const MAX_DEVICE_ENTRIES = 5;
const ENTRY = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{22}$/;

/** The HMAC key for device tokens, derived from a session secret (so no new secret to manage). */
export function deviceKey(secret: string): Buffer {
  return createHmac("sha256", secret).update("device-cookie/v1").digest();
}

function signature(key: Buffer, nonce: string, emailNormalized: string): string {
  return createHmac("sha256", key).update(`${nonce}|${emailNormalized}`).digest().subarray(0, 16).toString("base64url");
}

/** Splits the cookie into well-formed entries ("nonce.signature"); anything else is ignored. */
export function parseDeviceCookie(value: string | undefined): string[] {
  if (!value) return [];
  return value.split("~").filter((e) => ENTRY.test(e)).slice(0, MAX_DEVICE_ENTRIES);
}

/**
 * The device id (nonce) of the entry issued to this browser for this account, or null.
 * Any of `keys` may have signed it (secret rotation).
 */
export function trustedDevice(entries: readonly string[], emailNormalized: string, keys: readonly Buffer[]): string | null {
  for (const entry of entries) {
    const [nonce, sig] = entry.split(".") as [string, string];
    for (const key of keys) {
      const expected = Buffer.from(signature(key, nonce, emailNormalized));
      const given = Buffer.from(sig);
      if (expected.length === given.length && timingSafeEqual(expected, given)) return nonce;
    }
  }
  return null;
}

/** The cookie after a successful sign-in: this account's entry first (kept or new), others after. */
export function rememberDevice(
  entries: readonly string[],
  emailNormalized: string,
  key: Buffer,
  existingNonce: string | null,
  nonce: string = randomBytes(16).toString("base64url"),
): string {
  const id = existingNonce ?? nonce;
  const entry = `${id}.${signature(key, id, emailNormalized)}`;
  return [entry, ...entries.filter((e) => !e.startsWith(`${id}.`) && e !== entry)].slice(0, MAX_DEVICE_ENTRIES).join("~");
}

export type LimitKey = { kind: "loginIp" | "loginAccount" | "loginDevice"; key: string };

/**
 * Which counters a sign-in attempt counts against.
 * - From a browser holding this account's device token that is not itself locked: that device only.
 * - Otherwise (unknown browser, or its device token is locked): the client IP and the account's
 *   "unknown devices" counter.
 */
export function loginLimitKeys(input: { ip: string; emailNormalized: string; device: string | null; deviceBlocked: boolean }): LimitKey[] {
  if (input.device && !input.deviceBlocked) return [{ kind: "loginDevice", key: input.device }];
  return [
    { kind: "loginIp", key: input.ip },
    { kind: "loginAccount", key: input.emailNormalized },
  ];
}
