// Pure decisions of the self-service account page, by tables.
import {
  accountNotice,
  credentialRefusal,
  decideEmailChange,
  decidePasswordChange,
  judgeChangeEmailLink,
  splitName,
  type CredentialCheck,
  type LinkStatus,
} from "../../src/decisions/account-settings";
import { describeUserDeleted } from "../../src/flows/credential-change";
import { english, fixedT, msg, say } from "../../src/i18n";

describe("splitName", () => {
  test.each<[string, string | null, string | null, string | null]>([
    ["Ada Lovelace", "Ada Lovelace", "Ada", "Lovelace"],
    ["  Ada   King  Lovelace ", "Ada King Lovelace", "Ada", "King Lovelace"],
    ["Cher", "Cher", "Cher", null],
    ["", null, null, null],
    ["   ", null, null, null],
  ])("%p → name %p, given %p, family %p", (input, name, givenName, familyName) => {
    expect(splitName(input)).toEqual({ name, givenName, familyName });
  });
});

describe("decideEmailChange", () => {
  test.each<[string, { current: string; requested: string; takenByAnother: boolean }, string]>([
    ["a free address", { current: "ada@example.com", requested: "ada@new.example", takenByAnother: false }, "send-link"],
    ["another account's address", { current: "ada@example.com", requested: "bob@example.com", takenByAnother: true }, "notify-owner"],
    ["the same address (normalized, so any case)", { current: "ada@example.com", requested: "ada@example.com", takenByAnother: false }, "unchanged"],
  ])("%s → %s", (_l, input, kind) => {
    expect(decideEmailChange(input).kind).toBe(kind);
  });
});

describe("decidePasswordChange", () => {
  test.each<[string, CredentialCheck, string | null, boolean, string, number | null, string | null]>([
    ["right, strong, new", "right", null, false, "change", null, null],
    ["wrong current password (checked first)", "wrong", "too short", false, "refuse", 400, "current_password"],
    ["throttled", { throttledForSeconds: 90 }, null, false, "refuse", 429, "current_password"],
    ["weak new password", "right", "This password is too easy to guess.", false, "refuse", 400, "new_password"],
    ["same as the current one", "right", null, true, "refuse", 400, "new_password"],
  ])("%s", (_l, current, strengthProblem, sameAsCurrent, kind, status, field) => {
    const d = decidePasswordChange({ current, strengthProblem, sameAsCurrent });
    expect(d.kind).toBe(kind);
    if (d.kind === "refuse") {
      expect([d.status, d.field]).toEqual([status, field]);
      expect(english(d.message)).toMatch(/not changed|Nothing was changed/);
    }
  });

  test("a weak password's reason is shown", () => {
    const d = decidePasswordChange({ current: "right", strengthProblem: "The password must be at least 10 characters long.", sameAsCurrent: false });
    expect(d.kind === "refuse" && english(d.message)).toBe("The password must be at least 10 characters long. Your password was not changed.");
  });

  test("a wrong current password on the password form says nothing was changed; German too", () => {
    const d = decidePasswordChange({ current: "wrong", strengthProblem: null, sameAsCurrent: false });
    expect(d.kind === "refuse" && english(d.message)).toBe("Your current password is not right. Nothing was changed.");
    expect(d.kind === "refuse" && say(fixedT("de"), d.message)).toBe("Ihr aktuelles Passwort ist nicht richtig. Es wurde nichts geändert.");
  });
});

describe("credentialRefusal", () => {
  test.each<[CredentialCheck, number | null, RegExp | null]>([
    ["right", null, null],
    ["wrong", 400, /^Your current password is not right\. Nothing was changed\.$/],
    [{ throttledForSeconds: 30 }, 429, /try again in 1 minute\./],
    [{ throttledForSeconds: 601 }, 429, /try again in 11 minutes\./],
  ])("%p → %p", (check, status, message) => {
    const r = credentialRefusal(check);
    if (status === null) expect(r).toBeNull();
    else {
      expect(r!.status).toBe(status);
      expect(english(r!.message)).toMatch(message!);
    }
  });

  test("says what was not done", () => {
    expect(english(credentialRefusal("wrong", msg("account:notChanged.email"))!.message)).toBe("Your current password is not right. Your address was not changed.");
    expect(english(credentialRefusal({ throttledForSeconds: 120 }, msg("account:notChanged.delete"))!.message)).toBe(
      "Too many wrong passwords. Please try again in 2 minutes. Your account was not deleted.",
    );
    expect(say(fixedT("de"), credentialRefusal({ throttledForSeconds: 60 })!.message)).toBe("Zu viele falsche Passwörter. Bitte versuchen Sie es in 1 Minute erneut. Es wurde nichts geändert.");
  });
});

describe("judgeChangeEmailLink", () => {
  test.each<[string, LinkStatus, string | null, string | undefined, string | number]>([
    ["valid, browser not signed in", "valid", "u1", undefined, "ok"],
    ["valid, signed in as the same account", "valid", "u1", "u1", "ok"],
    ["valid, signed in as another account", "valid", "u1", "u2", 403],
    ["unknown", "unknown", null, undefined, 404],
    ["used or replaced", "used", null, "u1", 410],
    ["expired", "expired", null, undefined, 410],
  ])("%s", (_l, status, tokenUser, sessionUser, expected) => {
    const v = judgeChangeEmailLink(status, tokenUser, sessionUser);
    expect(v.kind === "ok" ? "ok" : v.status).toBe(expected);
  });

  test("its words", () => {
    const said = (s: LinkStatus, session?: string) => {
      const v = judgeChangeEmailLink(s, "u1", session);
      return v.kind === "refuse" ? english(v.message) : null;
    };
    expect(said("unknown")).toMatch(/^This link is not valid/);
    expect(said("used")).toMatch(/already used/);
    expect(said("expired")).toBe("This link has expired. Ask for a new one on your account page.");
    expect(said("valid", "u2")).toMatch(/another account/);
  });
});

describe("accountNotice", () => {
  test.each<[string | undefined, RegExp | null]>([
    ["name", /name was changed/],
    ["email-sent", /We sent a link to the new address/],
    ["email-changed", /changed and confirmed/],
    ["password", /password was changed.*this one stays signed in/],
    [undefined, null],
    ["<script>alert(1)</script>", null],
    ["__proto__", null],
    ["constructor", null],
  ])("%p → %p", (key, expected) => {
    const n = accountNotice(key);
    if (expected === null) expect(n).toBeNull();
    else expect(english(n!)).toMatch(expected);
  });
});

test("describeUserDeleted says what went, in counts", () => {
  expect(describeUserDeleted({ consents: 2, consentEvents: 1, appSessions: 1 })).toBe(
    "deleted 2 consents and 1 consent-history entry; revoked Hydra consent sessions (tokens) and login sessions; ended 1 app session",
  );
});

