// Health endpoints (none is request-logged, see app.ts):
//   /health        the database and Hydra reachable: 200, else 503 (with which one is down)
//   /health/alive  liveness: the process answers HTTP; always 200, calls nothing
//   /health/ready  readiness: 200 only when the database and Hydra answer and the server is not
//                  shutting down; 503 while it drains after SIGTERM/SIGINT (see server.ts)
import { Router, type Application } from "express";
import type { Deps } from "./deps";

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms).unref())]);
}

/** The app setting that marks an app whose server is shutting down (per app, not per process). */
const DRAINING = "health.draining";

/** Turns /health/ready to 503 for good: the server is shutting down (server.ts calls it on SIGTERM). */
export function markDraining(app: Application): void {
  app.set(DRAINING, true);
}

export function healthRoutes(deps: Deps): Router {
  const router = Router();
  const check = async () => {
    const [db, hydra] = await Promise.all([
      withTimeout(deps.store.ping(), 3000).then(() => true, () => false),
      withTimeout(deps.hydra.isReady(), 3000).catch(() => false),
    ]);
    return { db, hydra };
  };
  const dependencies = ({ db, hydra }: { db: boolean; hydra: boolean }) => ({
    database: db ? "ok" : "unreachable",
    hydra: hydra ? "ok" : "unreachable",
  });

  router.get("/health", async (_req, res) => {
    const result = await check();
    const ok = result.db && result.hydra;
    res.status(ok ? 200 : 503).json({ status: ok ? "ok" : "unavailable", ...dependencies(result) });
  });

  router.get("/health/alive", (_req, res) => {
    res.status(200).json({ status: "ok" });
  });

  router.get("/health/ready", async (req, res) => {
    const draining = () => req.app.get(DRAINING) === true;
    res.setHeader("Cache-Control", "no-store");
    if (draining()) return void res.status(503).json({ status: "draining" });
    const result = await check();
    // Shutdown may have begun while the dependencies were asked.
    if (draining()) return void res.status(503).json({ status: "draining", ...dependencies(result) });
    const ok = result.db && result.hydra;
    res.status(ok ? 200 : 503).json({ status: ok ? "ready" : "unavailable", ...dependencies(result) });
  });
  return router;
}
