// Second factors' pure parts: when a sign-in needs one, what it is accepted with, recovery codes'
// form, the secret box's ring, and TOTP codes (replay refused by step).
import { randomBytes } from "node:crypto";
import { acrValuesOf, asksForTwoFactors, formatRecoveryCode, normalizeRecoveryCode, secondFactorStep, strengthOf } from "../../src/decisions/second-factor";
import { createSecretBox, keyRing } from "../../src/services/secret-box";
import { acceptedStep, newTotpSecret, totpCode, totpUri, TOTP_PERIOD_SECONDS } from "../../src/services/totp";
import { createFactors } from "../../src/services/factors";

describe("secondFactorStep", () => {
  test.each([
    // mfa, user has a factor, methods so far, acr_values → step
    ["off", true, ["pwd"], [], "done"],
    ["off", false, ["pwd"], [], "done"],
    ["optional", true, ["pwd"], [], "ask"],
    ["optional", false, ["pwd"], [], "done"],
    ["required", true, ["pwd"], [], "ask"],
    ["required", false, ["pwd"], [], "enrol"],
    ["required", true, ["pwd", "otp"], [], "done"],
    // A relying party asking for two factors: asked even where the audience turns them off.
    ["off", true, ["pwd"], ["aal2"], "ask"],
    ["optional", false, ["pwd"], ["aal2"], "enrol"],
    ["optional", true, ["pwd"], ["aal1"], "ask"],
    ["off", false, ["pwd"], ["aal1"], "done"],
    ["optional", true, ["pwd", "hwk"], ["aal2"], "done"],
  ] as const)("mfa %s, factor %s, methods %j, acr_values %j → %s", (mfa, userHasFactor, methods, acrValues, step) => {
    expect(secondFactorStep({ mfa, userHasFactor, methods, acrValues })).toBe(step);
  });
});

test.each([
  [["pwd"], { acr: "aal1", amr: ["pwd"] }],
  [["pwd", "otp"], { acr: "aal2", amr: ["pwd", "otp", "mfa"] }],
  [["pwd", "otp", "otp"], { acr: "aal2", amr: ["pwd", "otp", "mfa"] }],
  [["otp"], { acr: "aal1", amr: ["otp"] }],
] as const)("strengthOf(%j) = %j", (methods, strength) => {
  expect(strengthOf(methods)).toEqual(strength);
});

test("acr_values from Hydra's context, else from the authorization request", () => {
  expect(acrValuesOf({ oidc_context: { acr_values: ["aal2"] }, request_url: "https://h/oauth2/auth?acr_values=aal1" })).toEqual(["aal2"]);
  expect(acrValuesOf({ request_url: "https://h/oauth2/auth?acr_values=aal1%20aal2" })).toEqual(["aal1", "aal2"]);
  expect(acrValuesOf({ request_url: "not a url" })).toEqual([]);
  expect(asksForTwoFactors(["aal1"])).toBe(false);
  expect(asksForTwoFactors(["aal1", "aal2"])).toBe(true);
});

describe("recovery codes", () => {
  test("16 characters of Crockford's base32 in groups of four; typed variants read the same", () => {
    const code = formatRecoveryCode(randomBytes(16));
    expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$/);
    const plain = code.replace(/-/g, "");
    expect(normalizeRecoveryCode(code)).toBe(plain);
    expect(normalizeRecoveryCode(` ${code.toUpperCase().replace(/-/g, " ")} `)).toBe(plain);
    expect(normalizeRecoveryCode("oooo-iiii-llll-2222")).toBe("0000111111112222");
  });
  test.each(["", "abcd", "abcd-efgh-jkmn-pqrs-tvwx", "abcd-efgh-jkmn-pqu!"])("%j is no recovery code", (typed) => {
    expect(normalizeRecoveryCode(typed)).toBeNull();
  });
  test("ten different codes, and their hashes match what a typed code hashes to", () => {
    const factors = createFactors(createSecretBox([randomBytes(32)]));
    const { codes, hashes } = factors.newRecoveryCodes("u1");
    expect(new Set(codes).size).toBe(10);
    expect(factors.recoveryCodeHash("u1", codes[3]!.toUpperCase())).toBe(hashes[3]);
    // Bound to the user: the same code of another user hashes differently.
    expect(factors.recoveryCodeHash("u2", codes[3]!)).not.toBe(hashes[3]);
  });
});

describe("secret box", () => {
  const env = { SESSION_SECRETS: ["s".repeat(40)] };
  test("sealed text opens with the ring, only bound to the same thing, and never contains the secret", () => {
    const box = createSecretBox(keyRing(env));
    const sealed = box.seal("JBSWY3DPEHPK3PXP", "totp:u1");
    expect(sealed).not.toContain("JBSWY3DPEHPK3PXP");
    expect(box.open(sealed, "totp:u1")).toBe("JBSWY3DPEHPK3PXP");
    expect(() => box.open(sealed, "totp:u2")).toThrow(/does not open/);
    const tampered = sealed.slice(0, -2) + (sealed.endsWith("A") ? "BB" : "AA");
    expect(() => box.open(tampered, "totp:u1")).toThrow();
  });
  test("rotation: a new first key seals, the old one still opens what it sealed; a ring without it does not", () => {
    const old = Buffer.alloc(32, 1).toString("base64");
    const fresh = Buffer.alloc(32, 2).toString("base64");
    const before = createSecretBox(keyRing({ ...env, FACTOR_ENCRYPTION_KEYS: [old] })).seal("secret", "b");
    const rotated = createSecretBox(keyRing({ ...env, FACTOR_ENCRYPTION_KEYS: [fresh, old] }));
    expect(rotated.open(before, "b")).toBe("secret");
    expect(rotated.seal("secret", "b").split(".")[1]).not.toBe(before.split(".")[1]);
    expect(() => createSecretBox(keyRing({ ...env, FACTOR_ENCRYPTION_KEYS: [fresh] })).open(before, "b")).toThrow(/unknown key/);
  });
  test("without keys of its own, the derived key of a session secret seals, and opens after own keys are added", () => {
    const derived = createSecretBox(keyRing(env)).seal("secret", "b");
    const withOwn = createSecretBox(keyRing({ ...env, FACTOR_ENCRYPTION_KEYS: [Buffer.alloc(32, 3).toString("base64")] }));
    expect(withOwn.open(derived, "b")).toBe("secret");
  });
});

describe("TOTP", () => {
  const secret = newTotpSecret();
  const now = 1_800_000_010_000; // 10 s into a step
  const step = Math.floor(now / 1000 / TOTP_PERIOD_SECONDS);
  test("a right code gives its step; the previous and next step's codes count (clock drift), older ones do not", () => {
    expect(acceptedStep(secret, totpCode(secret, now), null, now)).toBe(step);
    expect(acceptedStep(secret, totpCode(secret, now - 30_000), null, now)).toBe(step - 1);
    expect(acceptedStep(secret, totpCode(secret, now + 30_000), null, now)).toBe(step + 1);
    expect(acceptedStep(secret, totpCode(secret, now - 90_000), null, now)).toBeNull();
  });
  test("a code of a step at or before the last accepted one is refused (a replay)", () => {
    const code = totpCode(secret, now);
    expect(acceptedStep(secret, code, step, now)).toBeNull();
    expect(acceptedStep(secret, code, step - 1, now)).toBe(step);
  });
  test.each(["", "12345", "1234567", "abcdef"])("%j is refused", (code) => {
    expect(acceptedStep(secret, code, null, now)).toBeNull();
  });
  test("the otpauth URI names the product and the account", () => {
    expect(totpUri({ issuer: "Sign-in service", account: "a@example.test", secret })).toBe(
      `otpauth://totp/Sign-in%20service:a%40example.test?secret=${secret}&issuer=Sign-in%20service`,
    );
  });
});
