// Errors the app turns into a clear 4xx/503 page (or JSON), never a stack trace. Messages are
// translation keys (msg()); the page shows them in the person's language, logs and JSON in English.
import { english, msg, type Msg } from "./i18n";

export class AppError extends Error {
  constructor(
    public readonly status: number,
    /** Short machine-readable code, e.g. "challenge_not_found". */
    public readonly code: string,
    /** Message safe to show to the user (a translation key with values; a plain string only for others' words). */
    public readonly text: Msg | string,
    public readonly options: { title?: Msg | string; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(english(text), { cause: options.cause });
    this.name = "AppError";
  }
  /** The page title (translated when shown). */
  get titleText(): Msg | string {
    return this.options.title ?? defaultTitle(this.status);
  }
  get title(): string {
    return english(this.titleText);
  }
}

/** Over an attempt limit: 429 with Retry-After. */
export function tooManyAttempts(message: Msg | string, retryAfterSeconds: number): AppError {
  return new AppError(429, "too_many_attempts", message, { retryAfterSeconds });
}

/** A dependency (Hydra, the database) cannot be reached: 503, retry later. */
export class UnavailableError extends AppError {
  constructor(what: "database" | "hydra", cause?: unknown) {
    super(503, "service_unavailable", msg(`errors:unavailable.${what}`), { title: msg("errors:title.503"), cause });
  }
}

function defaultTitle(status: number): Msg {
  if ([400, 403, 404, 409, 410, 413, 429, 503].includes(status)) return msg(`errors:title.${status}`);
  return msg(status < 500 ? "errors:title.4xx" : "errors:title.5xx");
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN",
  "EPIPE", "ECONNABORTED", "57P01", "57P02", "57P03", "53300",
]);

/** True when an error (or any of its causes) says a database connection could not be used. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; depth++) {
    const anyE = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; originalCode?: unknown };
    const code = typeof anyE.code === "string" ? anyE.code : typeof anyE.originalCode === "string" ? anyE.originalCode : undefined;
    if (code && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) return true;
    if (anyE.name === "PrismaClientInitializationError") return true;
    if (typeof anyE.message === "string" && /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Can't reach database/i.test(anyE.message)) return true;
    if (Array.isArray((e as AggregateError).errors) && (e as AggregateError).errors.some(isDatabaseUnavailable)) return true;
    e = anyE.cause;
  }
  return false;
}
