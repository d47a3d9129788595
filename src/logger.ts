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
  if (!(err instanceof Error)) return err;
  const e = err as Error & { code?: unknown; status?: unknown; cause?: unknown };
  const out: LoggedError = { type: e.name, message: redactSecrets(e.message) };
  if (e.code !== undefined) out.code = e.code;
  if (e.status !== undefined) out.status = e.status;
  if (e.stack) out.stack = redactSecrets(e.stack);
  if (e.cause instanceof Error && depth < 3) out.cause = serializeError(e.cause, depth + 1) as LoggedError;
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
