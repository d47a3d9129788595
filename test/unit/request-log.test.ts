// One log line per request (src/middleware/request-log.ts): the URL without its secrets, the status,
// the time taken; the level by outcome; health probes not logged.
import express from "express";
import request from "supertest";
import { Writable } from "node:stream";
import { createLogger } from "../../src/logger";
import { requestLog, requestLogger } from "../../src/middleware/request-log";

function appWithLog() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(l)); cb(); } });
  const logger = createLogger("info", sink);
  const app = express();
  app.use(requestLog(logger));
  app.get("/health/alive", (_req, res) => void res.send("ok"));
  app.get("/ok", (req, res) => { requestLogger(req, logger).info({ event: "inside" }, "inside"); res.send("fine"); });
  app.get("/down", (_req, res) => void res.status(503).send("later"));
  app.get("/broken", (_req, res) => void res.status(500).send("oops"));
  return { app, lines };
}

test.each([
  ["/ok?login_challenge=s3cr3t&x=1", 200, 30, "request completed", "/ok?login_challenge=[redacted]&x=1"],
  ["/down?code=abc", 503, 40, "request failed: service unavailable", "/down?code=[redacted]"],
  ["/broken", 500, 50, "request errored", "/broken"],
  ["/nowhere?state=zz", 404, 30, "request completed", "/nowhere?state=[redacted]"],
] as const)("GET %s → %i: level %i, %s", async (url, status, level, message, logged) => {
  const { app, lines } = appWithLog();
  await request(app).get(url).expect(status);
  const line = lines.find((l) => l.msg === message)!;
  expect(line).toMatchObject({ level, req: { method: "GET", url: logged }, res: { statusCode: status } });
  expect(typeof line.responseTime).toBe("number");
  expect(typeof (line.req as { id: unknown }).id).toBe("number");
  expect(JSON.stringify(lines)).not.toMatch(/s3cr3t|code=abc|state=zz/);
});

test("a line logged while handling names the request; health probes are not logged", async () => {
  const { app, lines } = appWithLog();
  await request(app).get("/ok?token=t0k").expect(200);
  await request(app).get("/health/alive").expect(200);
  const inside = lines.find((l) => l.msg === "inside")!;
  const done = lines.find((l) => l.msg === "request completed")!;
  expect((inside.req as { id: number }).id).toBe((done.req as { id: number }).id);
  expect(inside.req).toMatchObject({ url: "/ok?token=[redacted]" });
  expect(lines.filter((l) => JSON.stringify(l).includes("/health"))).toEqual([]);
});
