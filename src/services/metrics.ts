// Prometheus metrics (prom-client), one registry per running app: request latency per route, sign-in
// outcomes, consent decisions, Hydra and database call latency and errors, rate-limit refusals, and
// the process's own (memory, CPU, event-loop lag). Served on METRICS_PORT, a port of its own that
// is not published to browsers (server.ts). Without METRICS_PORT nothing is measured at all: the
// counters do nothing and no default collector or event-loop monitor runs (they cost CPU for nothing).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type SignInOutcome = "success" | "incorrect" | "rate_limited" | "disabled";
export type ConsentDecision = "silent" | "page" | "approved" | "denied" | "invalid_scope" | "invalid_client" | "consent_required" | "first_party";

type Labels<L extends string> = Partial<Record<L, string | number>>;
/** What the app does with a counter: prom-client's Counter, or nothing. */
export interface CounterLike<L extends string> {
  inc(labels: Labels<L>): void;
}
/** What the app does with a histogram: prom-client's Histogram, or nothing. */
export interface HistogramLike<L extends string> {
  startTimer(labels?: Labels<L>): (labels?: Labels<L>) => number | void;
}

export interface Metrics {
  /** null: metrics are off (no METRICS_PORT), and every counter and histogram below does nothing. */
  registry: Registry | null;
  httpDuration: HistogramLike<"method" | "route" | "status">;
  signIns: CounterLike<"outcome">;
  consentDecisions: CounterLike<"decision">;
  hydraCalls: HistogramLike<"operation" | "outcome">;
  dbCalls: HistogramLike<"operation" | "outcome">;
  rateLimitRefusals: CounterLike<"limit">;
}

const NOTHING: CounterLike<string> & HistogramLike<string> = { inc: () => undefined, startTimer: () => () => undefined };
/** Metrics that measure nothing (METRICS_PORT unset). */
export const NO_METRICS: Metrics = { registry: null, httpDuration: NOTHING, signIns: NOTHING, consentDecisions: NOTHING, hydraCalls: NOTHING, dbCalls: NOTHING, rateLimitRefusals: NOTHING };

/** How often the event loop's lag is sampled for nodejs_eventloop_lag_* (ms). */
export const EVENT_LOOP_SAMPLE_MS = 100;

const LATENCY_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createMetrics(): Metrics & { registry: Registry } {
  const registry = new Registry();
  // The event-loop lag is sampled every 100 ms, not every 10 ms (prom-client's default): at 10 ms the
  // sampling timer alone cost 12 ms of CPU a second on the benchmark machine, idle or not; 10
  // samples a second still give the lag's percentiles between two scrapes.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return {
    registry,
    httpDuration: new Histogram({ name: "http_request_duration_seconds", help: "HTTP requests by route (the route's pattern, never its values) and status", labelNames: ["method", "route", "status"], buckets: LATENCY_BUCKETS, registers: [registry] }),
    signIns: new Counter({ name: "sign_ins_total", help: "Sign-in form submissions by outcome", labelNames: ["outcome"], registers: [registry] }),
    consentDecisions: new Counter({ name: "consent_decisions_total", help: "Consent steps by decision: silent (stored consent covers it), page (shown), approved, denied, invalid_scope, invalid_client, consent_required (prompt=none), first_party", labelNames: ["decision"], registers: [registry] }),
    hydraCalls: new Histogram({ name: "hydra_call_duration_seconds", help: "Calls to Ory Hydra by operation and outcome (ok, error)", labelNames: ["operation", "outcome"], buckets: LATENCY_BUCKETS, registers: [registry] }),
    dbCalls: new Histogram({ name: "db_call_duration_seconds", help: "Store operations (PostgreSQL, or the in-memory configuration) by operation and outcome (ok, error)", labelNames: ["operation", "outcome"], buckets: LATENCY_BUCKETS, registers: [registry] }),
    rateLimitRefusals: new Counter({ name: "rate_limit_refusals_total", help: "Attempts refused by a rate limit, by limit", labelNames: ["limit"], registers: [registry] }),
  };
}

/**
 * Wraps every function of a service object (Hydra, the store) so that each call's duration and
 * outcome land in `histogram` under the function's name. Non-function members pass through.
 */
export function instrument<T extends object>(service: T, histogram: HistogramLike<"operation" | "outcome">): T {
  // Metrics off: the service itself, without a proxy in front of every call.
  if (histogram === NOTHING) return service;
  return new Proxy(service, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || typeof prop !== "string") return value;
      return (...args: unknown[]) => {
        const end = histogram.startTimer({ operation: prop });
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          end({ outcome: "error" });
          throw err;
        }
        if (result instanceof Promise) {
          return result.then(
            (v) => (end({ outcome: "ok" }), v),
            (err) => {
              end({ outcome: "error" });
              throw err;
            },
          );
        }
        end({ outcome: "ok" });
        return result;
      };
    },
  });
}

/** The metrics endpoint on a server of its own: GET /metrics in Prometheus's text format, nothing else. */
export async function startMetricsServer(metrics: Metrics & { registry: Registry }, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${actual}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
