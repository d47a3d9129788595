// Errors the app turns into a clear 4xx/503 page (or JSON), never a stack trace.

export class AppError extends Error {
  constructor(
    public readonly status: number,
    /** Short machine-readable code, e.g. "challenge_not_found". */
    public readonly code: string,
    /** Message safe to show to the user. */
    message: string,
    public readonly options: { title?: string; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "AppError";
  }
  get title(): string {
    return this.options.title ?? defaultTitle(this.status);
  }
}

/** A dependency (Hydra, the database) cannot be reached: 503, retry later. */
export class UnavailableError extends AppError {
  constructor(what: string, cause?: unknown) {
    super(503, "service_unavailable", `${what} is temporarily unavailable. Please try again in a moment.`, {
      title: "Temporarily unavailable",
      cause,
    });
  }
}

function defaultTitle(status: number): string {
  switch (status) {
    case 400: return "Bad request";
    case 403: return "Forbidden";
    case 404: return "Not found";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 413: return "Request too large";
    case 429: return "Too many attempts";
    case 503: return "Temporarily unavailable";
    default: return status < 500 ? "Request refused" : "Something went wrong";
  }
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
