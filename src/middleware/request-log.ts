// One log line per request, when its response is finished (or the connection closed first):
//   {"req":{"id":7,"method":"GET","url":"/login?login_challenge=[redacted]","remoteAddress":"…"},
//    "res":{"statusCode":200},"responseTime":5,"msg":"request completed"}
// the shape pino-http writes (pino-http builds a child logger and serializes the
// request for every request, about 0.8 ms of CPU each on the benchmark machine; this builds the
// line once, at the end). The URL's challenges, codes, state and invitations are never logged.
// Health probes are not logged. Level: info; warn for 503 (a dependency is down: the error handler
// logged its cause) and for a connection closed before the response; error for other 5xx.
import type { Request, RequestHandler } from "express";
import type { Logger } from "../logger";
import { redactSecrets } from "../logger";

let lastId = 0;

/** The request's number in this process's log (its lines carry it as req.id). */
const ids = new WeakMap<Request, number>();

function requestOf(req: Request) {
  return { id: ids.get(req), method: req.method, url: redactSecrets(req.originalUrl || req.url), remoteAddress: req.socket?.remoteAddress };
}

/** A logger whose lines name the request (its id, method and URL without secrets). */
export function requestLogger(req: Request, logger: Logger): Logger {
  return logger.child({ req: requestOf(req) });
}

export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    if (req.url === "/health" || req.url.startsWith("/health/")) return next();
    lastId = (lastId + 1) & 0x7fffffff;
    ids.set(req, lastId);
    const start = Date.now();
    const done = (finished: boolean) => {
      res.off("finish", onFinish);
      res.off("close", onClose);
      const line = { req: requestOf(req), res: { statusCode: res.statusCode }, responseTime: Date.now() - start };
      if (!finished) logger.warn(line, "request aborted");
      else if (res.statusCode === 503) logger.warn(line, "request failed: service unavailable");
      else if (res.statusCode >= 500) logger.error(line, "request errored");
      else logger.info(line, "request completed");
    };
    const onFinish = () => done(true);
    const onClose = () => done(false);
    res.on("finish", onFinish);
    res.on("close", onClose);
    next();
  };
}
