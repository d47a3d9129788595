// The flows' routers, reached by the first segment of the request's path: a request goes straight to
// the router(s) with a route for that segment, in their order, instead of through every router in
// turn (each router passed costs its own matching and bookkeeping, on every request).
// The segments are read from the routers' own routes at start-up, so a route added to a router is
// found without a list to keep. A router with anything but plain routes (router.use, a pattern) is
// asked for every request, in its place. Paths are matched as Express matches them: case-insensitive.
import type { NextFunction, Request, RequestHandler, Response, Router } from "express";

interface LayerLike {
  route?: { path?: unknown };
}

/** The first segments of a router's routes ("" for "/"), or null when it must see every request. */
export function firstSegments(router: Router): Set<string> | null {
  const segments = new Set<string>();
  for (const layer of (router as unknown as { stack: LayerLike[] }).stack) {
    const path = layer.route?.path;
    // Only plain literal paths: no parameters, wildcards, optional parts or regular expressions.
    if (typeof path !== "string" || !/^\/[A-Za-z0-9._~/-]*$/.test(path)) return null;
    segments.add(segmentOf(path));
  }
  return segments;
}

function segmentOf(path: string): string {
  const end = path.indexOf("/", 1);
  return (end < 0 ? path.slice(1) : path.slice(1, end)).toLowerCase();
}

export function routeBySegment(routers: readonly Router[]): RequestHandler {
  const claims = routers.map((r) => firstSegments(r));
  const segments = new Set(claims.flatMap((s) => (s ? [...s] : [])));
  const chain = (list: readonly Router[]): RequestHandler => {
    if (list.length === 1) return list[0]!;
    return (req, res, next) => {
      let i = 0;
      const step = (err?: unknown) => {
        if (err !== undefined && err !== null) return next(err);
        const r = list[i++];
        if (!r) return next();
        r(req, res, step as NextFunction);
      };
      step();
    };
  };
  const bySegment = new Map<string, RequestHandler>();
  for (const segment of segments) bySegment.set(segment, chain(routers.filter((_, i) => claims[i] === null || claims[i]!.has(segment))));
  const others = routers.filter((_, i) => claims[i] === null);
  const fallback: RequestHandler = others.length ? chain(others) : (_req, _res, next) => next();
  return (req: Request, res: Response, next: NextFunction) => (bySegment.get(segmentOf(req.path)) ?? fallback)(req, res, next);
}
