// Pages for people: Hydra's errors in plain words, and input problems without internal field names.
import { switchAccountTarget } from "../../src/flows/sign-out";
import { explainOAuthError } from "../../src/decisions/oauth-errors";
import { inputProblem } from "../../src/middleware/validate";
import { rememberPeriod } from "../../src/decisions/login";
import { english, fixedT, say } from "../../src/i18n";

describe("explainOAuthError", () => {
  test.each<[string | undefined, string, boolean]>([
    ["invalid_request", "This sign-in link is not valid", true],
    ["invalid_client", "This application is not set up for sign-in", false],
    ["unauthorized_client", "This application may not sign you in this way", false],
    ["invalid_scope", "This application asked for something it may not have", false],
    ["access_denied", "Access was not granted", true],
    ["login_required", "Please sign in", true],
    ["consent_required", "Your approval is needed", true],
    ["temporarily_unavailable", "Sign-in is temporarily unavailable", true],
    ["server_error", "Something went wrong on our side", true],
    ["toString", "Sign-in could not continue", true], // not an own key: no prototype lookups
    ["__proto__", "Sign-in could not continue", true],
    [undefined, "Sign-in could not continue", true],
  ])("%s → %s", (error, title, retry) => {
    const explained = explainOAuthError(error);
    expect({ title: english({ key: explained.title }), retry: explained.retry }).toEqual({ title, retry });
  });
});

describe("inputProblem", () => {
  test.each<[string, { path: string[]; message: string }[], string, RegExp]>([
    ["a missing challenge", [{ path: ["login_challenge"], message: "is required" }], "login link", /^This sign-in link is incomplete or was changed.*start again\.$/],
    ["a bad state", [{ path: ["state"], message: "x" }], "sign-in answer", /incomplete or was changed/],
    ["a bad choice", [{ path: ["decision"], message: "must be allow or deny" }], "consent form", /^Something in the consent form is not right \(your choice\)/],
    ["two fields", [{ path: ["email"], message: "x" }, { path: ["password"], message: "y" }], "sign-in form", /\(the email address, the password\)/],
    ["an unknown field", [{ path: ["zzz_internal"], message: "x" }], "form", /\(a field\)/],
  ])("%s", (_l, issues, what, expected) => {
    const text = english(inputProblem(issues, what));
    expect(text).toMatch(expected);
    expect(text).not.toMatch(/_challenge|zzz_internal|is required|must be/);
  });
});

describe("rememberPeriod: how long 'stay signed in' lasts, in words", () => {
  test.each<[number, string]>([
    [2592000, "30 days"],
    [86400 * 2, "2 days"],
    [86400, "24 hours"],
    [3600 * 2, "2 hours"],
    [3600, "60 minutes"],
    [60, "1 minute"],
    [10, "1 minute"],
  ])("%p s → %s", (seconds, words) => {
    expect(english(rememberPeriod(seconds))).toBe(words);
  });

  test.each<[number, string]>([
    [2592000, "30 Tage"],
    [86400, "24 Stunden"],
    [60, "1 Minute"],
    [300, "5 Minuten"],
  ])("in German: %p s → %s", (seconds, words) => {
    expect(say(fixedT("de"), rememberPeriod(seconds))).toBe(words);
  });
});

describe("switchAccountTarget: where /signed-out continues after 'Not you?'", () => {
  const hydra = "https://auth.example";
  test.each<[unknown, string | null]>([
    ["https://auth.example/oauth2/auth?client_id=a&prompt=login", "https://auth.example/oauth2/auth?client_id=a&prompt=login"],
    ["https://auth.example.evil/oauth2/auth?client_id=a", null],
    ["https://evil.example/oauth2/auth?x=https://auth.example/oauth2/auth?", null],
    ["https://auth.example/admin/clients", null],
    ["", null],
    [undefined, null],
  ])("%p → %p", (value, expected) => {
    expect(switchAccountTarget(value, hydra)).toBe(expected);
  });
});
