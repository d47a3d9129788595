// A passkey's answer as a form brings it: the JSON @simplewebauthn/browser produced, in one field.
// Parsed and checked for its shape here; its signature is services/passkeys.ts's.
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { z } from "zod";

const b64url = z.string().max(16384).regex(/^[A-Za-z0-9_-]*$/, "is not base64url");

/** A JSON text field, parsed, then checked against `shape`. */
const json = <S extends z.ZodType>(shape: S) =>
  z
    .string({ message: "is required" })
    .max(32768, "is too long")
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "is not a passkey's answer" });
        return z.NEVER;
      }
    })
    .pipe(shape);

const common = { id: b64url.min(1), rawId: b64url.min(1), type: z.literal("public-key"), clientExtensionResults: z.record(z.string(), z.unknown()).default({}), authenticatorAttachment: z.string().max(32).optional() };

export const authenticationResponse = json(
  z.object({
    ...common,
    response: z.object({ clientDataJSON: b64url, authenticatorData: b64url, signature: b64url, userHandle: b64url.optional() }),
  }),
) as unknown as z.ZodType<AuthenticationResponseJSON>;

export const registrationResponse = json(
  z.object({
    ...common,
    response: z.object({
      clientDataJSON: b64url,
      attestationObject: b64url,
      transports: z.array(z.string().max(32)).max(10).optional(),
      authenticatorData: b64url.optional(),
      publicKey: b64url.optional(),
      publicKeyAlgorithm: z.number().optional(),
    }),
  }),
) as unknown as z.ZodType<RegistrationResponseJSON>;
