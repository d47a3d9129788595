import pino, { type Logger } from "pino";

export type { Logger };

/** Query parameters that carry challenges, codes, state or invitation codes: never logged. */
export const SECRET_QUERY_PARAMS = [
  "login_challenge", "consent_challenge", "logout_challenge", "challenge",
  "login_verifier", "consent_verifier", "code", "state", "invitation", "token",
  "id_token_hint", "access_token", "refresh_token",
];
const SECRET_PARAM = new RegExp(`([?&](?:${SECRET_QUERY_PARAMS.join("|")})=)[^&#\\s"']*`, "gi");

/** The text with the values of secret query parameters replaced (URLs, or messages quoting URLs). */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PARAM, "$1[redacted]");
}

interface LoggedError {
  type: string;
  message: string;
  code?: unknown;
  status?: unknown;
  stack?: string;
  cause?: LoggedError;
}

/**
 * Errors are logged by name, message, code and stack only: an HTTP client's error carries its whole
 * request (URL with challenges, headers), which must not reach the logs.
 */
export function serializeError(err: unknown, depth = 0): LoggedError | unknown {
  // An Error, or what pino's standard serializer made of one.
  if (!err || typeof err !== "object") return err;
  const e = err as { name?: unknown; type?: unknown; message?: unknown; code?: unknown; status?: unknown; stack?: unknown; cause?: unknown };
  const out: LoggedError = { type: String(e.type ?? e.name ?? "Error"), message: redactSecrets(String(e.message ?? "")) };
  if (typeof e.code === "string" || typeof e.code === "number") out.code = e.code;
  if (typeof e.status === "number") out.status = e.status;
  if (typeof e.stack === "string") out.stack = redactSecrets(e.stack);
  if (e.cause && typeof e.cause === "object" && depth < 3) out.cause = serializeError(e.cause, depth + 1) as LoggedError;
  return out;
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    serializers: { err: serializeError },
    redact: {
      paths: ["req.headers.cookie", "req.headers.authorization", 'res.headers["set-cookie"]', "password", "*.password"],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * The server's logger: stdout, written in batches of about 4 KB (one system call for several
 * requests instead of one per line) and at least every second; pino flushes what is left when the
 * process exits.
 */
export function createServerLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  const logger = createLogger(level, destination);
  setInterval(() => logger.flush(), 1000).unref();
  return logger;
}
