import type { z } from "zod";
import { AppError } from "../errors";

/** How a field is called on a page (never its internal name). */
const FIELD_NAMES: Record<string, string> = {
  email: "the email address",
  name: "the name",
  password: "the password",
  current_password: "the current password",
  new_password: "the new password",
  code: "the code",
  token: "the link from the mail",
  decision: "your choice",
  audience: "the application",
  invitation: "the invitation code",
  remember: "“stay signed in”",
};

/** The message for people (pure): what is wrong, in words, and what to do. */
export function inputProblem(issues: readonly { path: readonly PropertyKey[]; message: string }[], what: string): string {
  const fields = issues.map((i) => String(i.path[0] ?? ""));
  // Challenges, states and codes come from the application's link, not from the person.
  if (fields.some((f) => f.endsWith("_challenge") || f === "state")) {
    return `This ${what} is incomplete or was changed, so this page cannot continue. Please go back to the application and start again.`;
  }
  const named = [...new Set(fields.map((f) => FIELD_NAMES[f] ?? "a field"))];
  return `Something in the ${what} is not right (${named.join(", ")}). Please go back, check it and try again.`;
}

/** Parses request input with a zod schema; a failure is a 400 whose message is for people. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = "request"): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new AppError(400, "invalid_input", inputProblem(result.error.issues, what), { title: "Cannot continue" });
}
