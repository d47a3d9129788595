// Pure decisions of sign-up (src/decisions/registration.ts), the password strength check
// (passwordProblem in src/services/passwords.ts) and the live check's rate limit. Messages are
// compared in English (english()) and, where it matters, in German.
import {
  checkInvitation,
  decideRegistration,
  invitationProblem,
  offersSignUp,
  registrationMode,
  type InvitationCheck,
  type InvitationFacts,
  type RegistrationDecision,
  type RegistrationMode,
} from "../../src/decisions/registration";
import { containsEmailPart, personalInputs, passwordProblem as passwordMsg, passwordStrength, zxcvbnFeedback } from "../../src/services/passwords";
import { english, fixedT, say } from "../../src/i18n";

/** passwordProblem's message as text: English by default, or in `lng` (zxcvbn's feedback too). */
function passwordProblem(password: string, userInputs: string[], lng = "en"): string | null {
  const m = passwordMsg(password, userInputs, lng);
  return m && say(fixedT(lng), m);
}

/** A decision with its message in English. */
type EnglishDecision = { kind: "allow"; useInvitation: boolean; emailVerified: boolean } | { kind: "refuse"; status: 400 | 403; reason: string; message: string };
const inEnglish = (d: RegistrationDecision): EnglishDecision => (d.kind === "refuse" ? { ...d, message: english(d.message) } : d);

describe("registrationMode", () => {
  test.each<[boolean, boolean, RegistrationMode]>([
    [true, false, "open"],
    [true, true, "open+invitations"],
    [false, true, "invitation-only"],
    [false, false, "closed"],
  ])("signUpEnabled=%p × invitationEnabled=%p → %p", (signUpEnabled, invitationEnabled, expected) => {
    expect(registrationMode({ signUpEnabled, invitationEnabled })).toBe(expected);
  });
});

describe("offersSignUp", () => {
  test.each<[RegistrationMode, boolean]>([
    ["open", true],
    ["open+invitations", true],
    ["invitation-only", true],
    ["closed", false],
  ])("%p → %p", (mode, expected) => {
    expect(offersSignUp(mode)).toBe(expected);
  });
});

describe("checkInvitation", () => {
  const NOW = new Date("2026-11-22T12:00:00.000Z");
  const at = (deltaMs: number) => new Date(NOW.getTime() + deltaMs);
  const DAY = 24 * 60 * 60 * 1000;
  const AUDIENCE = "org.example.demo";
  const OTHER = "org.example.other";
  const BOUND = "ada@example.com";

  const inv = (over: Partial<InvitationFacts> = {}): InvitationFacts => ({
    audienceId: AUDIENCE,
    email: null,
    expiresAt: at(DAY),
    usedAt: null,
    ...over,
  });
  type Ctx = { audienceId: string | null; email: string | null };

  test.each<[string, InvitationFacts | null, Ctx, InvitationCheck]>([
    // no stored invitation for the code
    ["null invitation → unknown", null, { audienceId: AUDIENCE, email: BOUND }, { status: "unknown" }],
    ["null invitation, link opened outside a flow → unknown", null, { audienceId: null, email: null }, { status: "unknown" }],

    // used
    ["used, not expired → used", inv({ usedAt: at(-DAY) }), { audienceId: AUDIENCE, email: null }, { status: "used" }],
    ["used and expired → used (used wins)", inv({ usedAt: at(-2 * DAY), expiresAt: at(-DAY) }), { audienceId: AUDIENCE, email: null }, { status: "used" }],
    ["used, expired, other audience, mismatching email → used", inv({ usedAt: at(-2 * DAY), expiresAt: at(-DAY), audienceId: OTHER, email: BOUND }), { audienceId: AUDIENCE, email: "eve@example.com" }, { status: "used" }],
    ["used, link opened outside a flow → used", inv({ usedAt: at(-1) }), { audienceId: null, email: null }, { status: "used" }],

    // expiry boundary: expiresAt == now counts as expired
    ["expiresAt == now → expired", inv({ expiresAt: at(0) }), { audienceId: AUDIENCE, email: null }, { status: "expired" }],
    ["expiresAt 1 ms before now → expired", inv({ expiresAt: at(-1) }), { audienceId: AUDIENCE, email: null }, { status: "expired" }],
    ["expiresAt 1 ms after now → valid", inv({ expiresAt: at(1) }), { audienceId: AUDIENCE, email: null }, { status: "valid", boundEmail: null }],
    ["expiresAt a day ago → expired", inv({ expiresAt: at(-DAY) }), { audienceId: AUDIENCE, email: null }, { status: "expired" }],
    ["expired and other audience → expired (expiry checked first)", inv({ expiresAt: at(0), audienceId: OTHER }), { audienceId: AUDIENCE, email: null }, { status: "expired" }],
    ["expired, link opened outside a flow → expired", inv({ expiresAt: at(0) }), { audienceId: null, email: null }, { status: "expired" }],

    // audience
    ["other audience → other-audience", inv({ audienceId: OTHER }), { audienceId: AUDIENCE, email: null }, { status: "other-audience" }],
    ["other audience and mismatching email → other-audience (audience checked first)", inv({ audienceId: OTHER, email: BOUND }), { audienceId: AUDIENCE, email: "eve@example.com" }, { status: "other-audience" }],
    ["audienceId null skips the audience check (unbound) → valid", inv({ audienceId: OTHER }), { audienceId: null, email: null }, { status: "valid", boundEmail: null }],
    ["audienceId null skips the audience check (bound) → valid with boundEmail", inv({ audienceId: OTHER, email: BOUND }), { audienceId: null, email: null }, { status: "valid", boundEmail: BOUND }],

    // email binding
    ["bound, matching email → valid with boundEmail", inv({ email: BOUND }), { audienceId: AUDIENCE, email: BOUND }, { status: "valid", boundEmail: BOUND }],
    ["bound, mismatching email → email-mismatch", inv({ email: BOUND }), { audienceId: AUDIENCE, email: "eve@example.com" }, { status: "email-mismatch" }],
    ["bound, email differing only in case (ctx not normalized) → email-mismatch", inv({ email: BOUND }), { audienceId: AUDIENCE, email: "Ada@example.com" }, { status: "email-mismatch" }],
    ["bound, ctx email null (not known yet) → valid with boundEmail", inv({ email: BOUND }), { audienceId: AUDIENCE, email: null }, { status: "valid", boundEmail: BOUND }],
    ["bound, audienceId null and mismatching email → email-mismatch", inv({ email: BOUND }), { audienceId: null, email: "eve@example.com" }, { status: "email-mismatch" }],
    ["unbound, any email → valid, boundEmail null", inv({ email: null }), { audienceId: AUDIENCE, email: "eve@example.com" }, { status: "valid", boundEmail: null }],
    ["unbound, ctx email null → valid, boundEmail null", inv({ email: null }), { audienceId: AUDIENCE, email: null }, { status: "valid", boundEmail: null }],
  ])("%s", (_label, invitation, ctx, expected) => {
    expect(checkInvitation(invitation, { ...ctx, now: NOW })).toEqual(expected);
  });

  test("does not mutate the invitation or the clock", () => {
    const invitation = inv({ email: BOUND });
    const snapshot = JSON.stringify(invitation);
    const now = new Date(NOW);
    checkInvitation(invitation, { audienceId: AUDIENCE, email: BOUND, now });
    expect(JSON.stringify(invitation)).toBe(snapshot);
    expect(now.getTime()).toBe(NOW.getTime());
  });
});

describe("invitationProblem", () => {
  test.each<[Parameters<typeof invitationProblem>[0], string]>([
    ["unknown", "This invitation code is not valid. Check the link you received."],
    ["expired", "This invitation has expired. Ask whoever invited you for a new one."],
    ["used", "This invitation has already been used."],
    ["other-audience", "This invitation is for another application; it cannot be used to register for Demo App."],
    ["email-mismatch", "This invitation was issued for a different email address. Register with the address it was sent to."],
  ])("%p", (status, expected) => {
    expect(english(invitationProblem(status, "Demo App"))).toBe(expected);
  });
});

describe("decideRegistration", () => {
  const NAME = "Demo App";
  const checks = {
    none: { status: "none" },
    unknown: { status: "unknown" },
    expired: { status: "expired" },
    used: { status: "used" },
    "other-audience": { status: "other-audience" },
    "email-mismatch": { status: "email-mismatch" },
    "valid bound": { status: "valid", boundEmail: "ada@example.com" },
    "valid unbound": { status: "valid", boundEmail: null },
  } satisfies Record<string, InvitationCheck>;
  type CheckName = keyof typeof checks;

  const ALLOW_PLAIN: EnglishDecision = { kind: "allow", useInvitation: false, emailVerified: false };
  const ALLOW_INVITED_VERIFIED: EnglishDecision = { kind: "allow", useInvitation: true, emailVerified: true };
  const ALLOW_INVITED_UNVERIFIED: EnglishDecision = { kind: "allow", useInvitation: true, emailVerified: false };
  const CLOSED: EnglishDecision = { kind: "refuse", status: 403, reason: "closed", message: "Registration is closed for Demo App." };
  const NOT_ACCEPTED: EnglishDecision = {
    kind: "refuse",
    status: 400,
    reason: "invitations_not_accepted",
    message: "Demo App does not use invitations. Remove the invitation code to register.",
  };

  // Written out literally, one row per mode × check.
  const table: [RegistrationMode, CheckName, EnglishDecision][] = [
    // closed: everything refused with 403
    ["closed", "none", CLOSED],
    ["closed", "unknown", CLOSED],
    ["closed", "expired", CLOSED],
    ["closed", "used", CLOSED],
    ["closed", "other-audience", CLOSED],
    ["closed", "email-mismatch", CLOSED],
    ["closed", "valid bound", CLOSED],
    ["closed", "valid unbound", CLOSED],

    // open: only registrations without an invitation code
    ["open", "none", ALLOW_PLAIN],
    ["open", "unknown", NOT_ACCEPTED],
    ["open", "expired", NOT_ACCEPTED],
    ["open", "used", NOT_ACCEPTED],
    ["open", "other-audience", NOT_ACCEPTED],
    ["open", "email-mismatch", NOT_ACCEPTED],
    ["open", "valid bound", NOT_ACCEPTED],
    ["open", "valid unbound", NOT_ACCEPTED],

    // open+invitations: no code or a valid code; bad codes refused with a hint to drop them
    ["open+invitations", "none", ALLOW_PLAIN],
    ["open+invitations", "unknown", {
      kind: "refuse", status: 400, reason: "invitation_unknown",
      message: "This invitation code is not valid. Check the link you received. You can also register without an invitation.",
    }],
    ["open+invitations", "expired", {
      kind: "refuse", status: 400, reason: "invitation_expired",
      message: "This invitation has expired. Ask whoever invited you for a new one. You can also register without an invitation.",
    }],
    ["open+invitations", "used", {
      kind: "refuse", status: 400, reason: "invitation_used",
      message: "This invitation has already been used. You can also register without an invitation.",
    }],
    ["open+invitations", "other-audience", {
      kind: "refuse", status: 400, reason: "invitation_other_audience",
      message: "This invitation is for another application; it cannot be used to register for Demo App. You can also register without an invitation.",
    }],
    ["open+invitations", "email-mismatch", {
      kind: "refuse", status: 400, reason: "invitation_email_mismatch",
      message: "This invitation was issued for a different email address. Register with the address it was sent to. You can also register without an invitation.",
    }],
    ["open+invitations", "valid bound", ALLOW_INVITED_VERIFIED],
    ["open+invitations", "valid unbound", ALLOW_INVITED_UNVERIFIED],

    // invitation-only: a valid code is required
    ["invitation-only", "none", {
      kind: "refuse", status: 403, reason: "invitation_required",
      message: "Registration for Demo App requires an invitation.",
    }],
    ["invitation-only", "unknown", {
      kind: "refuse", status: 400, reason: "invitation_unknown",
      message: "This invitation code is not valid. Check the link you received.",
    }],
    ["invitation-only", "expired", {
      kind: "refuse", status: 400, reason: "invitation_expired",
      message: "This invitation has expired. Ask whoever invited you for a new one.",
    }],
    ["invitation-only", "used", {
      kind: "refuse", status: 400, reason: "invitation_used",
      message: "This invitation has already been used.",
    }],
    ["invitation-only", "other-audience", {
      kind: "refuse", status: 400, reason: "invitation_other_audience",
      message: "This invitation is for another application; it cannot be used to register for Demo App.",
    }],
    ["invitation-only", "email-mismatch", {
      kind: "refuse", status: 400, reason: "invitation_email_mismatch",
      message: "This invitation was issued for a different email address. Register with the address it was sent to.",
    }],
    ["invitation-only", "valid bound", ALLOW_INVITED_VERIFIED],
    ["invitation-only", "valid unbound", ALLOW_INVITED_UNVERIFIED],
  ];

  test("the table covers every mode × every check exactly once", () => {
    const modes: RegistrationMode[] = ["open", "open+invitations", "invitation-only", "closed"];
    const seen = new Set(table.map(([m, c]) => `${m}|${c}`));
    expect(table).toHaveLength(modes.length * Object.keys(checks).length);
    expect(seen.size).toBe(table.length);
  });

  test.each(table)("%s × %s", (mode, checkName, expected) => {
    expect(inEnglish(decideRegistration(mode, checks[checkName], NAME))).toStrictEqual(expected);
  });

  test.each<[RegistrationMode, InvitationCheck, string]>([
    ["closed", { status: "none" }, "Registration is closed for Ünïcode & <Co>."],
    ["open", { status: "unknown" }, "Ünïcode & <Co> does not use invitations. Remove the invitation code to register."],
    ["invitation-only", { status: "none" }, "Registration for Ünïcode & <Co> requires an invitation."],
    ["invitation-only", { status: "other-audience" }, "This invitation is for another application; it cannot be used to register for Ünïcode & <Co>."],
  ])("the audience name is inserted verbatim (%s, %j)", (mode, check, message) => {
    const decision = decideRegistration(mode, check, "Ünïcode & <Co>");
    expect(decision.kind).toBe("refuse");
    expect(decision.kind === "refuse" && english(decision.message)).toBe(message);
  });

  test("messages are in German on a German page (the invitation problem and its hint included)", () => {
    const de = fixedT("de");
    const closed = decideRegistration("closed", { status: "none" }, "Demo App");
    expect(closed.kind === "refuse" && say(de, closed.message)).toBe("Die Registrierung für Demo App ist geschlossen.");
    const mixed = decideRegistration("open+invitations", { status: "used" }, "Demo App");
    expect(mixed.kind === "refuse" && say(de, mixed.message)).toBe("Diese Einladung wurde bereits verwendet. Sie können sich auch ohne Einladung registrieren.");
  });
});

describe("passwordProblem", () => {
  const EMAIL = "marguerite.yourcenar@example.com";
  const NAME = "Marguerite Yourcenar";
  // What src/routes/registration.ts passes: the form email, the name, and the email's parts.
  const USER_INPUTS = [EMAIL, NAME, ...EMAIL.split("@")];

  test.each<[string, string, string[], string | null]>([
    ["9 characters → too short", "a".repeat(9), [], "The password must be at least 10 characters long."],
    ["empty → too short", "", [], "The password must be at least 10 characters long."],
    ["9 characters, even if random → too short", "Xq7#pL2!z", [], "The password must be at least 10 characters long."],
    ["257 characters → too long", "x".repeat(257), [], "The password must be at most 256 characters long."],
    ["257 varied characters → too long", "ab3!".repeat(64) + "x", [], "The password must be at most 256 characters long."],
    ["correct horse battery staple → accepted", "correct horse battery staple", [], null],
    ["correct horse battery staple with empty user inputs → accepted", "correct horse battery staple", ["", ""], null],
    ["correct horse battery staple with unrelated user inputs → accepted", "correct horse battery staple", USER_INPUTS, null],
  ])("%s", (_label, password, userInputs, expected) => {
    expect(passwordProblem(password, userInputs)).toBe(expected);
  });

  test("exactly 10 characters passes the length check (judged on strength only)", () => {
    // "aaaaaaaaaa" is 10 chars: not the length message, but refused as weak.
    const problem = passwordProblem("aaaaaaaaaa", []);
    expect(problem).not.toBe("The password must be at least 10 characters long.");
    expect(problem).toMatch(/^This password is too easy to guess\./);
  });

  test("exactly 256 characters passes the length check", () => {
    const problem = passwordProblem("x".repeat(256), []);
    expect(problem).not.toBe("The password must be at most 256 characters long.");
    expect(problem).toMatch(/^This password is too easy to guess\./); // all one character
  });

  test.each<[string, string[]]>([
    ["password1234", []],
    ["1234567890", []],
    ["qwertyuiop", []],
    ["letmein12345", []],
    ["iloveyou2024", []],
    ["Password2024!", []],
    ["aaaaaaaaaa", []],
  ])("common / patterned password %p is refused as too easy to guess", (password, userInputs) => {
    const problem = passwordProblem(password, userInputs);
    expect(problem).not.toBeNull();
    expect(problem!.startsWith("This password is too easy to guess.")).toBe(true);
    expect(passwordStrength(password, userInputs)).toMatchObject({ acceptable: false, rule: null });
  });

  test("password1234 gets the exact message with zxcvbn's feedback", () => {
    expect(passwordProblem("password1234", [])).toBe(
      "This password is too easy to guess. This is similar to a commonly used password. Add more words that are less common.",
    );
  });

  test.each<[string, string, string[]]>([
    ["password equal to the email, email given as user input", EMAIL, [EMAIL]],
    ["password equal to the email, route's user inputs", EMAIL, USER_INPUTS],
    ["password equal to the email in other case", "Marguerite.Yourcenar@example.com", [EMAIL]],
    ["password equal to the email's local part", "marguerite.yourcenar", USER_INPUTS],
    ["email's local part with a digit appended", "Marguerite.Yourcenar1", USER_INPUTS],
    ["the name lower-cased, which is half of the email's local part", "marguerite yourcenar", USER_INPUTS],
  ])("%s → refused: it contains the email", (_label, password, userInputs) => {
    expect(passwordProblem(password, userInputs)).toBe("The password must not contain your email address or a large part of it.");
  });

  test.each<[string, string, string[]]>([
    ["password equal to the name, name given as user input", NAME, [NAME]],
    ["password equal to the name, lower-cased, without the email", "marguerite yourcenar", [NAME]],
  ])("%s → refused as personal data", (_label, password, userInputs) => {
    expect(passwordProblem(password, userInputs)).toBe(
      "This password is too easy to guess. There should not be any personal or page related data. Add more words that are less common.",
    );
  });

  test("user inputs matter: the email as password is only refused when given as user input", () => {
    // Without user inputs zxcvbn sees a long, unusual string; with it, personal data.
    expect(passwordProblem(EMAIL, [])).toBeNull();
    expect(passwordProblem(EMAIL, [EMAIL])).not.toBeNull();
  });

  test.each(["MargueriteYourcenar", "margueriteyourcenar", "yourcenar marguerite", "yourcenar2024", "Yourcenar2024!"])(
    "%p (built from the user's name) is refused with personalInputs",
    (password) => {
      expect(passwordProblem(password, personalInputs(EMAIL, NAME))).not.toBeNull();
    },
  );

  test("in German: the rule, and zxcvbn's warning and suggestions from @zxcvbn-ts/language-de", () => {
    expect(passwordProblem("Xq7#pL2!z", [], "de")).toBe("Das Passwort muss mindestens 10 Zeichen lang sein.");
    expect(passwordProblem("password1234", [], "de")).toBe(
      "Dieses Passwort ist zu leicht zu erraten. Dies weist Ähnlichkeit zu anderen oft verwendeten Passwörtern auf. Weitere Wörter, die weniger häufig vorkommen, hinzufügen.",
    );
    expect(passwordProblem(EMAIL, USER_INPUTS, "de")).toBe("Das Passwort darf weder Ihre E-Mail-Adresse noch einen großen Teil davon enthalten.");
  });

  test("the language never changes the verdict; German words are known in every language", () => {
    for (const password of ["correct horse battery staple", "password1234", "Sonnenschein", "Kartoffelsalat", "Zusammenarbeit"]) {
      expect(passwordProblem(password, [], "de") === null).toBe(passwordProblem(password, [], "en") === null);
    }
    // Single German words: accepted with the English lists alone, refused with the German ones.
    expect(passwordProblem("Zusammenarbeit", [], "en")).toBe("This password is too easy to guess. Single words are easy to guess. Add more words that are less common. Capitalize more than the first letter.");
    expect(passwordProblem("Entwicklung", [], "de")).toBe(
      "Dieses Passwort ist zu leicht zu erraten. Einzelne Wörter sind leicht zu erraten. Weitere Wörter, die weniger häufig vorkommen, hinzufügen. Nicht nur den ersten Buchstaben groß schreiben.",
    );
  });

  test("passwordStrength: score, verdict and feedback keys, for the live check", () => {
    expect(passwordStrength("correct horse battery staple", [])).toEqual({ acceptable: true, score: 4, rule: null, feedback: { warning: null, suggestions: [] } });
    const weak = passwordStrength("password1234", []);
    expect(weak).toMatchObject({ acceptable: false, rule: null, feedback: { warning: "similarToCommon", suggestions: ["anotherWord"] } });
    expect(weak.score).toBeLessThan(3);
    const short = passwordStrength("Xq7#pL2!z", []);
    expect(short.acceptable).toBe(false);
    expect(english(short.rule!)).toBe("The password must be at least 10 characters long.");
    expect(english(passwordStrength("x".repeat(257), []).rule!)).toBe("The password must be at most 256 characters long.");
    expect(english(passwordStrength(EMAIL, USER_INPUTS).rule!)).toBe("The password must not contain your email address or a large part of it.");
  });

  test("zxcvbnFeedback translates zxcvbn's keys and leaves unknown ones out", () => {
    const keys = { warning: "similarToCommon", suggestions: ["anotherWord", "no-such-key", "toString"] };
    expect(zxcvbnFeedback(keys, "en")).toEqual(["This is similar to a commonly used password.", "Add more words that are less common."]);
    expect(zxcvbnFeedback(keys, "de")).toEqual(["Dies weist Ähnlichkeit zu anderen oft verwendeten Passwörtern auf.", "Weitere Wörter, die weniger häufig vorkommen, hinzufügen."]);
    expect(zxcvbnFeedback({ warning: "__proto__", suggestions: [] }, "xx")).toEqual([]);
  });

  test("personalInputs expands the email and the name into their parts", () => {
    expect(personalInputs("Ada.Lovelace+x@Example.com", "Ada King Lovelace")).toEqual([
      "ada.lovelace+x@example.com", "ada.lovelace+x", "example.com", "ada", "lovelace", "ada king lovelace", "adakinglovelace", "lovelace king ada", "lovelacekingada", "king",
    ]);
  });
});


describe("containsEmailPart: the email's local part, whole or a long part of it, is refused", () => {
  test.each<[string, string, boolean]>([
    ["ada.lovelace.the.great@example.com", "ada.lovelace.the.gre", true], // the first 20 characters of the email
    ["ada.lovelace.the.great@example.com", "xx-LOVELACE.THE-yy-42", true], // 12 of 22 characters, any case
    ["ada.lovelace.the.great@example.com", "lovelace-orbit-93", false], // 8 characters: under half of 22
    ["grace@example.com", "my-grace-is-long-1", true], // the whole local part
    ["grace@example.com", "gracious-harbor-9", false],
    ["jo@example.com", "jo-jo-jo-jo-jo-1", false], // too short to matter
    ["bartholomew@example.com", "xbartholx-kite-88", true], // 6 of 11 characters
    ["bartholomew@example.com", "barthxx-kite-88", false],
  ])("%s / %s → %p", (email, password, expected) => {
    expect(containsEmailPart(password, email)).toBe(expected);
  });

  test("sign-up's password check names the rule", () => {
    const email = "ada.lovelace.the.great@example.com";
    expect(passwordProblem("ada.lovelace.the.gre", personalInputs(email, "Ada"))).toBe("The password must not contain your email address or a large part of it.");
  });
});
