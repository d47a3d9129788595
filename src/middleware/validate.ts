import type { z } from "zod";
import { AppError } from "../errors";

/** Parses request input with a zod schema; a failure is a 400 naming each bad field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = "request"): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const details = result.error.issues.map((i) => `${i.path.join(".") || what}: ${i.message}`).join("; ");
  throw new AppError(400, "invalid_input", `The ${what} is invalid — ${details}.`);
}
