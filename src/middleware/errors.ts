// Turns every error into a clear page or JSON answer: 4xx for bad input, 503 when Hydra or the
// database is unreachable, 500 (logged, no details shown) for anything unexpected.
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../logger";
import { AppError, UnavailableError, isDatabaseUnavailable } from "../errors";
import { FlowAlreadyHandledError } from "../services/hydra";
import { fixedT, msg, say } from "../i18n";
import type { PageLocals } from "./page-locals";
import { requestLogger } from "./request-log";

export function notFoundHandler(_req: Request, _res: Response, next: NextFunction): void {
  next(new AppError(404, "not_found", msg("errors:notFound")));
}

const BODY_ERRORS: Record<string, [number, string]> = {
  "entity.too.large": [413, "errors:body.tooLarge"],
  "parameters.too.many": [413, "errors:body.tooManyFields"],
  "entity.parse.failed": [400, "errors:body.unreadable"],
  "entity.verify.failed": [400, "errors:body.unreadable"],
  "request.aborted": [400, "errors:body.aborted"],
  "request.size.invalid": [400, "errors:body.sizeMismatch"],
  "charset.unsupported": [415, "errors:body.charset"],
  "encoding.unsupported": [415, "errors:body.encoding"],
};

function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const e = err as { code?: unknown; type?: unknown; status?: unknown };
  if (e?.code === "EBADCSRFTOKEN") {
    return new AppError(403, "invalid_csrf_token", msg("errors:csrf.message"), { title: msg("errors:csrf.title") });
  }
  if (typeof e?.type === "string" && BODY_ERRORS[e.type]) {
    const [status, key] = BODY_ERRORS[e.type]!;
    return new AppError(status, "invalid_body", msg(key), { cause: err });
  }
  // Any other client error of the body parser (e.g. a body that is not gzip/deflate/br-encoded as
  // its Content-Encoding says: zlib's Z_DATA_ERROR, which carries status 400 but no type).
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
    return new AppError(e.status, "invalid_body", msg(e.status === 415 ? "errors:body.format" : "errors:body.unreadable"), { cause: err });
  }
  if (isDatabaseUnavailable(err)) return new UnavailableError("database", err);
  return undefined;
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appErr = toAppError(err) ?? new AppError(500, "server_error", msg("errors:serverError"), { cause: err });
    const log = requestLogger(req, logger);
    if (appErr.status >= 500 && appErr.status !== 503) log.error({ err }, appErr.code);
    else if (appErr.status === 503) log.warn({ err }, appErr.code);
    else if (appErr.code === "invalid_body") log.warn({ code: appErr.code, status: appErr.status, reason: (err as { code?: unknown; type?: unknown }).type ?? (err as { code?: unknown }).code }, appErr.message);
    else log.info({ code: appErr.code, status: appErr.status }, appErr.message);
    if (res.headersSent) return void res.end();
    if (appErr.status === 503) res.setHeader("Retry-After", "5");
    if (appErr.options.retryAfterSeconds) res.setHeader("Retry-After", String(appErr.options.retryAfterSeconds));
    res.status(appErr.status);
    if (req.accepts(["html", "json"]) === "json") {
      res.json({ error: appErr.code, error_description: appErr.message });
      return;
    }
    const t = (res.locals as Partial<PageLocals>).t ?? fixedT("en");
    res.render("error", {
      title: say(t, appErr.titleText),
      message: say(t, appErr.text),
      status: appErr.status,
      continueTo: appErr instanceof FlowAlreadyHandledError ? appErr.redirectTo : undefined,
      continueLabel: t("errors:startAgain"),
    });
  };
}
