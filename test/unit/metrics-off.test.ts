// Without METRICS_PORT nothing is measured: the counters and timers do nothing, no collector runs,
// and the services are used as they are, without a measuring proxy in front of every call.
import { createMetrics, instrument, NO_METRICS } from "../../src/services/metrics";

test("metrics off: no registry, counters and timers that do nothing, services not wrapped", () => {
  expect(NO_METRICS.registry).toBeNull();
  NO_METRICS.signIns.inc({ outcome: "success" });
  NO_METRICS.httpDuration.startTimer()({ method: "GET", route: "/", status: 200 });
  const service = { call: () => 42 };
  expect(instrument(service, NO_METRICS.dbCalls)).toBe(service);
});

test("metrics on: calls are measured by operation and outcome", async () => {
  const metrics = createMetrics();
  const service = instrument({ call: () => 42, fail: async () => Promise.reject(new Error("no")) }, metrics.dbCalls);
  expect(service.call()).toBe(42);
  await expect(service.fail()).rejects.toThrow("no");
  const text = await metrics.registry.metrics();
  expect(text).toMatch(/db_call_duration_seconds_count\{operation="call",outcome="ok"\} 1/);
  expect(text).toMatch(/db_call_duration_seconds_count\{operation="fail",outcome="error"\} 1/);
});
