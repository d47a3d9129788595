import type { z } from "zod";
import { AppError } from "../errors";
import { msg, type Msg } from "../i18n";

/** Fields people fill in, named on pages by errors:field.<name> (never by their internal name). */
const FIELDS = new Set(["email", "name", "password", "current_password", "new_password", "code", "token", "decision", "audience", "invitation", "remember"]);

/**
 * The message for people (pure): what is wrong, in words, and what to do. `what` names what was
 * sent (errors:what.*), fields are named by errors:field.* (never by their internal name).
 */
export function inputProblem(issues: readonly { path: readonly PropertyKey[]; message: string }[], what: string): Msg {
  const fields = issues.map((i) => String(i.path[0] ?? ""));
  // Challenges, states and codes come from the application's link, not from the person.
  if (fields.some((f) => f.endsWith("_challenge") || f === "state")) return msg("errors:input.changed", { what: msg(`errors:what.${what}`) });
  const named = [...new Set(fields.map((f) => (FIELDS.has(f) ? f : "other")))];
  return msg("errors:input.wrong", { what: msg(`errors:what.${what}`), fields: named.map((f) => msg(`errors:field.${f}`)) });
}

/** Parses request input with a zod schema; a failure is a 400 whose message is for people. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = "request"): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw new AppError(400, "invalid_input", inputProblem(result.error.issues, what), { title: msg("errors:input.title") });
}
