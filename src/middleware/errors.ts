// Turns every error into a clear page or JSON answer: 4xx for bad input, 503 when Hydra or the
// database is unreachable, 500 (logged, no details shown) for anything unexpected.
import type { NextFunction, Request, Response } from "express";
import type { Logger } from "../logger";
import { AppError, UnavailableError, isDatabaseUnavailable } from "../errors";
import { FlowAlreadyHandledError } from "../services/hydra";

export function notFoundHandler(_req: Request, _res: Response, next: NextFunction): void {
  next(new AppError(404, "not_found", "There is no page at this address."));
}

const BODY_ERRORS: Record<string, [number, string]> = {
  "entity.too.large": [413, "The submitted form is too large."],
  "parameters.too.many": [413, "The submitted form has too many fields."],
  "entity.parse.failed": [400, "The submitted form could not be read."],
  "entity.verify.failed": [400, "The submitted form could not be read."],
  "request.aborted": [400, "The request was aborted."],
  "request.size.invalid": [400, "The request body does not match its declared size."],
  "charset.unsupported": [415, "The form uses an unsupported character set."],
  "encoding.unsupported": [415, "The form uses an unsupported content encoding."],
};

function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const e = err as { code?: unknown; type?: unknown; status?: unknown };
  if (e?.code === "EBADCSRFTOKEN") {
    return new AppError(403, "invalid_csrf_token", "The form has expired or did not come from this site. Please go back, reload the page and try again.", {
      title: "Form expired",
    });
  }
  if (typeof e?.type === "string" && BODY_ERRORS[e.type]) {
    const [status, message] = BODY_ERRORS[e.type]!;
    return new AppError(status, "invalid_body", message, { cause: err });
  }
  // Any other client error of the body parser (e.g. a body that is not gzip/deflate/br-encoded as
  // its Content-Encoding says: zlib's Z_DATA_ERROR, which carries status 400 but no type).
  if (typeof e?.status === "number" && e.status >= 400 && e.status < 500) {
    return new AppError(e.status, "invalid_body", e.status === 415 ? "The form is sent in a format this site does not accept." : "The submitted form could not be read.", { cause: err });
  }
  if (isDatabaseUnavailable(err)) return new UnavailableError("The database", err);
  return undefined;
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const appErr = toAppError(err) ?? new AppError(500, "server_error", "Something went wrong on our side. Please try again.", { cause: err });
    const log = req.log ?? logger;
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
    res.render("error", {
      title: appErr.title,
      message: appErr.message,
      status: appErr.status,
      continueTo: appErr instanceof FlowAlreadyHandledError ? appErr.redirectTo : undefined,
      continueLabel: "Start again",
    });
  };
}
