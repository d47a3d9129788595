// /health — reports whether the database and Hydra are reachable (200 when both are, else 503).
import { Router } from "express";
import type { Deps } from "./deps";

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms).unref())]);
}

export function healthRoutes(deps: Deps): Router {
  const router = Router();
  router.get("/health", async (_req, res) => {
    const [db, hydra] = await Promise.all([
      withTimeout(deps.store.ping(), 3000).then(() => true, () => false),
      withTimeout(deps.hydra.isReady(), 3000).catch(() => false),
    ]);
    const ok = db && hydra;
    res.status(ok ? 200 : 503).json({
      status: ok ? "ok" : "unavailable",
      database: db ? "ok" : "unreachable",
      hydra: hydra ? "ok" : "unreachable",
    });
  });
  return router;
}
