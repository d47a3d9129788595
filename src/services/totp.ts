// Authenticator apps (TOTP, RFC 6238, by otplib): 6 digits, 30-second steps, SHA-1 (what every app
// reads from a QR code). A code is accepted from one step before to one step after now (clocks
// drift), and only for a step later than the last one accepted (a code works once).
// otplib and qrcode are loaded on first use, not at start-up (some 14 MiB an instance that never
// sees a second factor does not need).
import type * as Otplib from "otplib";
import type * as QRCodeLib from "qrcode";

let otplib: typeof Otplib | undefined;
let qrcode: typeof QRCodeLib | undefined;
const otp = (): typeof Otplib => (otplib ??= require("otplib") as typeof Otplib);
const qr = (): typeof QRCodeLib => (qrcode ??= require("qrcode") as typeof QRCodeLib);

export const TOTP_PERIOD_SECONDS = 30;

/** A new shared secret (160 bits, base32). */
export function newTotpSecret(): string {
  return otp().generateSecret({ length: 20 });
}

/** The otpauth:// URI an app reads from the QR code. */
export function totpUri(opts: { issuer: string; account: string; secret: string }): string {
  return otp().generateURI({ issuer: opts.issuer, label: opts.account, secret: opts.secret, period: TOTP_PERIOD_SECONDS, digits: 6, algorithm: "sha1" });
}

/** The QR code as SVG markup, put into the page itself: nothing is loaded from elsewhere (the CSP stays default-src 'self'). */
export function qrSvg(text: string): Promise<string> {
  return qr().toString(text, { type: "svg", margin: 2, errorCorrectionLevel: "M" });
}

/**
 * Checks a code: the time step it belongs to when it is right and later than `afterStep`, else null.
 * `now` in milliseconds.
 */
export function acceptedStep(secret: string, code: string, afterStep: number | null, now = Date.now()): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  try {
    const r = otp().verifySync({
      secret,
      token: code,
      epoch: Math.floor(now / 1000),
      period: TOTP_PERIOD_SECONDS,
      epochTolerance: TOTP_PERIOD_SECONDS,
      ...(afterStep === null ? {} : { afterTimeStep: afterStep }),
    });
    return r.valid && "timeStep" in r ? r.timeStep : null;
  } catch {
    return null;
  }
}

/** The code for a moment (the tests' authenticator; `now` in milliseconds). */
export function totpCode(secret: string, now = Date.now()): string {
  return otp().generateSync({ secret, epoch: Math.floor(now / 1000), period: TOTP_PERIOD_SECONDS });
}
