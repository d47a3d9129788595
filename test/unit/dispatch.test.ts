// The app's two start-up-computed pieces of its request pipeline:
// - routeBySegment (src/middleware/dispatch.ts): a request reaches the routers with a route for its
//   first path segment, in their order, exactly as if every router were mounted in turn;
// - securityHeaders (src/middleware/security-headers.ts): the headers helmet sets, recorded once.
import express, { Router } from "express";
import helmet from "helmet";
import request from "supertest";
import { firstSegments, routeBySegment } from "../../src/middleware/dispatch";
import { recordHelmet, SECURITY_HEADERS, securityHeaders } from "../../src/middleware/security-headers";

function routers() {
  const seen: string[] = [];
  const a = Router();
  a.get("/", (_req, res) => void res.send("home"));
  a.get("/login", (_req, res) => void res.send("a:login"));
  a.post("/login/continue", (_req, res) => void res.send("a:continue"));
  const b = Router();
  b.get("/account", (_req, res) => void res.send("b:account"));
  b.get("/account/pass", (_req, _res, next) => next()); // falls through to the next router
  b.get("/account/router", (_req, _res, next) => next("router")); // leaves this router
  b.get("/boom", () => {
    throw new Error("boom");
  });
  // A router with middleware of its own sees every request, in its place.
  const c = Router();
  c.use((req, _res, next) => {
    seen.push(req.path);
    next();
  });
  const d = Router();
  d.get("/account/pass", (_req, res) => void res.send("d:pass"));
  d.get("/account/router", (_req, res) => void res.send("d:router"));
  d.get("/users/:id", (req, res) => void res.send(`d:user ${req.params.id}`));
  return { list: [a, b, c, d], seen };
}

function appWith(mount: (app: express.Express, list: Router[]) => void) {
  const { list, seen } = routers();
  const app = express();
  mount(app, list);
  app.use((_req, res) => void res.status(404).send("none"));
  app.use(((err: Error, _req, res, _next) => void res.status(500).send(err.message)) as express.ErrorRequestHandler);
  return { app, seen };
}

describe("routeBySegment", () => {
  it("reads the first segments of plain routes; anything else makes the router see every request", () => {
    const { list } = routers();
    expect(firstSegments(list[0]!)).toEqual(new Set(["", "login"]));
    expect(firstSegments(list[1]!)).toEqual(new Set(["account", "boom"]));
    expect(firstSegments(list[2]!)).toBeNull(); // router.use
    expect(firstSegments(list[3]!)).toBeNull(); // a parameter
  });

  const cases: [method: "get" | "post", path: string][] = [
    ["get", "/"],
    ["get", "/login"],
    ["get", "/LOGIN"],
    ["get", "/login/"],
    ["get", "/login?x=1"],
    ["post", "/login/continue"],
    ["get", "/login/continue"],
    ["get", "/account"],
    ["get", "/account/pass"],
    ["get", "/account/router"],
    ["get", "/users/7"],
    ["get", "/boom"],
    ["get", "/nothing/here"],
  ];
  it.each(cases)("%s %s answers as routers mounted in turn do", async (method, path) => {
    const plain = appWith((app, list) => list.forEach((r) => app.use(r)));
    const dispatched = appWith((app, list) => app.use(routeBySegment(list)));
    const [want, got] = await Promise.all([request(plain.app)[method](path), request(dispatched.app)[method](path)]);
    expect({ status: got.status, text: got.text }).toEqual({ status: want.status, text: want.text });
    expect(dispatched.seen).toEqual(plain.seen);
  });
});

describe("securityHeaders", () => {
  it("sets exactly the headers helmet sets, and removes what it removes", async () => {
    const withHelmet = express();
    withHelmet.use(helmet(SECURITY_HEADERS));
    withHelmet.get("/", (_req, res) => void res.send("x"));
    const recorded = express();
    recorded.use(securityHeaders(SECURITY_HEADERS));
    recorded.get("/", (_req, res) => void res.send("x"));
    const [want, got] = await Promise.all([request(withHelmet).get("/"), request(recorded).get("/")]);
    const strip = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([k]) => !["date", "etag"].includes(k)));
    expect(strip(got.headers)).toEqual(strip(want.headers));
    expect(got.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(got.headers["referrer-policy"]).toBe("no-referrer");
    expect(got.headers["x-powered-by"]).toBeUndefined();
  });

  it("refuses a configuration whose headers depend on the request", () => {
    expect(() =>
      recordHelmet({ contentSecurityPolicy: { directives: { "script-src": ["'self'", (req) => `'nonce-${String((req as { nonce?: string }).nonce)}'`] } } }),
    ).toThrow(/depend on the request/);
    expect(recordHelmet(SECURITY_HEADERS).set.length).toBeGreaterThan(10);
  });
});
