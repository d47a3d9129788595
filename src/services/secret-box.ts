// Secrets the app must read back (a second factor's shared secret) are kept encrypted at rest with
// AES-256-GCM, bound to what they belong to (the additional data, e.g. the user's id), so a value
// copied to another row does not decrypt. Keys form a ring: the first encrypts, every one decrypts,
// and each ciphertext names its key by a fingerprint, so a key can be added first and retired later.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";

export interface SecretBox {
  seal(plain: string, boundTo: string): string;
  /** The plain text; throws when no key of the ring opens it or it was tampered with. */
  open(sealed: string, boundTo: string): string;
}

const VERSION = "v1";
const fingerprint = (key: Buffer) => createHash("sha256").update(key).digest().subarray(0, 6).toString("base64url");

/**
 * The ring: FACTOR_ENCRYPTION_KEYS when set (base64, 32 bytes each), then keys derived from each
 * session secret (HKDF), which encrypt only when no key of its own is set. A deployment that sets
 * its keys later still opens what the derived ones sealed, as long as those session secrets stay.
 */
export function keyRing(env: { FACTOR_ENCRYPTION_KEYS?: string[]; SESSION_SECRETS: string[] }): Buffer[] {
  const own = (env.FACTOR_ENCRYPTION_KEYS ?? []).map((k) => Buffer.from(k, "base64"));
  const derived = env.SESSION_SECRETS.map((s) => Buffer.from(hkdfSync("sha256", s, "", "second-factor-secrets/v1", 32)));
  return [...own, ...derived];
}

export class SecretBoxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SecretBoxError";
  }
}

export function createSecretBox(keys: readonly Buffer[]): SecretBox {
  if (!keys.length || keys.some((k) => k.length !== 32)) throw new SecretBoxError("the key ring needs keys of 32 bytes");
  const byId = new Map(keys.map((k) => [fingerprint(k), k] as const));
  const first = keys[0]!;
  const firstId = fingerprint(first);
  return {
    seal(plain, boundTo) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", first, iv);
      cipher.setAAD(Buffer.from(boundTo, "utf8"));
      const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
      return [VERSION, firstId, iv.toString("base64url"), body.toString("base64url")].join(".");
    },
    open(sealed, boundTo) {
      const [version, keyId, iv, body] = sealed.split(".");
      const key = keyId ? byId.get(keyId) : undefined;
      if (version !== VERSION || !key || !iv || !body) throw new SecretBoxError("sealed with an unknown key or format");
      const raw = Buffer.from(body, "base64url");
      if (raw.length < 17) throw new SecretBoxError("sealed value too short");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
        decipher.setAAD(Buffer.from(boundTo, "utf8"));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        return Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString("utf8");
      } catch {
        throw new SecretBoxError("sealed value does not open (tampered with, or bound to something else)");
      }
    },
  };
}
