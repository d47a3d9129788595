// Passkeys (WebAuthn) by @simplewebauthn/server: the options a page hands to the browser, and the
// checks of what the authenticator answered. The relying party is this app's own origin
// (APP_BASE_URL: its host is the RP id). Challenges need no storage: each is a timestamp, a random
// nonce and an HMAC binding both to what it is for (a login challenge, an account session), so a
// page can be rendered without writing the session; the step it belongs to is answered once.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type * as WebAuthn from "@simplewebauthn/server";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";

// The library (and its ASN.1 and X.509 code, some 23 MiB) is loaded on the first passkey page, not at start-up.
let webauthn: typeof WebAuthn | undefined;
const lib = (): typeof WebAuthn => (webauthn ??= require("@simplewebauthn/server") as typeof WebAuthn);

/** How long a page's passkey challenge is good for. */
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60 * 1000;

export interface StoredPasskey {
  credentialId: string;
  publicKey: string;
  counter: number;
  transports: string[];
}

export interface NewPasskey extends StoredPasskey {
  deviceType: string;
  backedUp: boolean;
}

export interface Passkeys {
  /**
   * Whether this site can offer passkeys: a relying party's id is a domain name, so a site reached
   * by an IP address (APP_BASE_URL http://127.0.0.1:…) offers none (use localhost or a name).
   */
  readonly available: boolean;
  registrationOptions(user: { id: string; email: string; name: string | null }, bind: string, existing: readonly Pick<StoredPasskey, "credentialId" | "transports">[]): Promise<PublicKeyCredentialCreationOptionsJSON>;
  /** The new credential, or null when the answer does not verify (a wrong challenge, origin or RP id, no user verification). */
  verifyRegistration(response: RegistrationResponseJSON, bind: string): Promise<NewPasskey | null>;
  /** `allow`: the user's credentials (a second factor); none: any discoverable credential (a passkey alone). */
  authenticationOptions(bind: string, allow?: readonly Pick<StoredPasskey, "credentialId" | "transports">[]): Promise<PublicKeyCredentialRequestOptionsJSON>;
  /** The credential's new counter, or null when the answer does not verify. */
  verifyAuthentication(response: AuthenticationResponseJSON, bind: string, credential: StoredPasskey): Promise<number | null>;
}

/** A user's id as WebAuthn's user handle: the uuid's 16 bytes (never the address). */
const userHandle = (id: string) => Uint8Array.from(Buffer.from(id.replace(/-/g, ""), "hex"));

export function createPasskeys(opts: { appBaseUrl: string; rpName: string; secrets: readonly string[]; now?: () => number }): Passkeys {
  const origin = new URL(opts.appBaseUrl).origin;
  const rpID = new URL(opts.appBaseUrl).hostname;
  const keys = opts.secrets.map((s) => createHmac("sha256", s).update("passkey-challenge/v1").digest());
  const now = opts.now ?? Date.now;
  const mac = (key: Buffer, head: Buffer, bind: string) => createHmac("sha256", key).update(head).update(bind).digest().subarray(0, 16);

  function challenge(bind: string): Uint8Array<ArrayBuffer> {
    const head = Buffer.alloc(24);
    head.writeBigUInt64BE(BigInt(now()));
    randomBytes(16).copy(head, 8);
    return Uint8Array.from(Buffer.concat([head, mac(keys[0]!, head, bind)]));
  }
  /** Whether the challenge the browser signed (base64url) is one of ours, for `bind`, and fresh. */
  function ours(signed: string, bind: string): boolean {
    const raw = Buffer.from(signed, "base64url");
    if (raw.length !== 40) return false;
    const head = raw.subarray(0, 24);
    const age = now() - Number(head.readBigUInt64BE());
    if (age < 0 || age > PASSKEY_CHALLENGE_TTL_MS) return false;
    return keys.some((k) => timingSafeEqual(mac(k, head, bind), raw.subarray(24)));
  }
  const descriptors = (list: readonly Pick<StoredPasskey, "credentialId" | "transports">[]) =>
    list.map((c) => ({ id: c.credentialId, transports: c.transports as ("internal" | "usb" | "nfc" | "ble" | "hybrid")[] }));

  return {
    available: isIP(rpID.replace(/^\[|\]$/g, "")) === 0,
    registrationOptions(user, bind, existing) {
      return lib().generateRegistrationOptions({
        rpName: opts.rpName,
        rpID,
        userName: user.email,
        userDisplayName: user.name || user.email,
        userID: userHandle(user.id),
        challenge: challenge(bind),
        attestationType: "none",
        excludeCredentials: descriptors(existing),
        // A discoverable credential with user verification: it signs in alone (possession and a PIN or biometric).
        authenticatorSelection: { residentKey: "required", userVerification: "required" },
      });
    },
    async verifyRegistration(response, bind) {
      try {
        const r = await lib().verifyRegistrationResponse({ response, expectedChallenge: (c) => ours(c, bind), expectedOrigin: origin, expectedRPID: rpID, requireUserVerification: true });
        if (!r.verified) return null;
        const { credential, credentialDeviceType, credentialBackedUp } = r.registrationInfo;
        return {
          credentialId: credential.id,
          publicKey: Buffer.from(credential.publicKey).toString("base64url"),
          counter: credential.counter,
          transports: credential.transports ?? response.response.transports ?? [],
          deviceType: credentialDeviceType,
          backedUp: credentialBackedUp,
        };
      } catch {
        return null;
      }
    },
    authenticationOptions(bind, allow) {
      return lib().generateAuthenticationOptions({ rpID, challenge: challenge(bind), userVerification: "required", allowCredentials: allow ? descriptors(allow) : [] });
    },
    async verifyAuthentication(response, bind, credential) {
      try {
        const r = await lib().verifyAuthenticationResponse({
          response,
          expectedChallenge: (c) => ours(c, bind),
          expectedOrigin: origin,
          expectedRPID: rpID,
          requireUserVerification: true,
          credential: { id: credential.credentialId, publicKey: Uint8Array.from(Buffer.from(credential.publicKey, "base64url")), counter: credential.counter, transports: credential.transports as never },
        });
        return r.verified ? r.authenticationInfo.newCounter : null;
      } catch {
        return null;
      }
    },
  };
}
