// Developer tool: what Express 5 itself costs per request on this machine, apart from
// what the app does in it. One process runs a keep-alive client and a server that answers every
// request with a redirect, as plain node:http, as Express with its router only, and as Express with
// ten more pass-through middleware layers, and as Express with cookie-parser and express-session saving
// a new session (in memory) for each request; it prints the process's CPU per request (client and
// server together, so only the differences between the rows mean anything).
// Usage: npx tsx bench/express-overhead.ts [requests]   (≈ 20 s)
import http from "node:http";
import { randomBytes } from "node:crypto";
import express from "express";
import session from "express-session";
import cookieParser from "cookie-parser";

const REQUESTS = Number(process.argv[2] ?? 4000);
const challenge = "a".repeat(1300); // about the size of a real Hydra challenge

function redirect(_req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(302, { Location: "/next" });
  res.end();
}

/**
 * Express with `layers` pass-through middleware layers and its router. `withSession`: cookie-parser
 * and express-session first, the route storing a token in the session, as a first-time GET /login
 * does: a new session made, saved (in memory here: the app's store writes PostgreSQL instead) and its
 * signed cookie set on every answer (the client keeps no cookies).
 */
function expressApp(layers: number, withSession = false): express.Express {
  const app = express();
  if (withSession) {
    app.use(cookieParser());
    app.use(session({ name: "sid", secret: randomBytes(32).toString("hex"), resave: false, saveUninitialized: false, store: new session.MemoryStore(), cookie: { httpOnly: true, sameSite: "lax", maxAge: 3_600_000 } }));
  }
  for (let i = 0; i < layers; i++) app.use((_req, _res, next) => next());
  const router = express.Router();
  router.get("/login", (req, res) => {
    if (req.session) (req.session as unknown as { csrfToken: string }).csrfToken = "t".repeat(43);
    res.redirect(302, "/next");
  });
  app.use(router);
  return app;
}

async function measure(name: string, handler: http.RequestListener): Promise<void> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port, path: `/login?login_challenge=${challenge}`, agent }, (res) => {
          if (res.statusCode !== 302) reject(new Error(`${name}: status ${res.statusCode}`));
          res.resume();
          res.on("end", resolve);
        })
        .on("error", reject);
    });
  for (let i = 0; i < REQUESTS; i++) await get(); // warm-up
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) await get();
  const used = process.cpuUsage(before);
  console.log(`${name.padEnd(34)} ${((used.user + used.system) / 1000 / REQUESTS).toFixed(3)} ms CPU per request`);
  agent.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function main(): Promise<void> {
  console.log(`${REQUESTS} requests each, client and server in this process`);
  for (let round = 0; round < 2; round++) {
    await measure("node:http", redirect);
    await measure("express (router only)", expressApp(0));
    await measure("express + 10 middleware layers", expressApp(10));
    await measure("express + express-session (new)", expressApp(0, true));
  }
}

void main();
