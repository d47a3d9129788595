// Answers a request with what a use case decided (flows/outcome.ts): a page in the person's
// language, with the form's CSRF token, a redirect, or a file to save.
import type { Request, Response } from "express";
import type { Outcome } from "../flows/outcome";
import { isMsg, say } from "../i18n";
import { tOf } from "../middleware/page-locals";
import type { Deps } from "./deps";

export function respond(deps: Pick<Deps, "csrf">, req: Request, res: Response, outcome: Outcome): void {
  if (outcome.kind === "redirect") return void res.redirect(303, outcome.to);
  if (outcome.kind === "download") {
    res.setHeader("Content-Disposition", `attachment; filename="${outcome.filename}"`);
    return void res.type("application/json").send(JSON.stringify(outcome.json, null, 2));
  }
  const t = tOf(res);
  const translate = (value: unknown, depth: number): unknown => {
    if (isMsg(value)) return say(t, value);
    if (depth > 0 && value && typeof value === "object" && !Array.isArray(value) && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, translate(v, depth - 1)]));
    }
    return value;
  };
  const locals = translate(outcome.locals, 2) as Record<string, unknown>;
  for (const [name, value] of Object.entries(outcome.headers ?? {})) res.setHeader(name, value);
  res.status(outcome.status ?? 200).render(outcome.view, { title: say(t, outcome.title), ...(outcome.form ? { csrfToken: deps.csrf.token(req) } : {}), ...locals });
}
