// services/one-at-a-time.ts: calls while a run is in progress add one more run after it, never a parallel one.
import { oneAtATime } from "../../src/services/one-at-a-time";

function controlled() {
  const releases: (() => void)[] = [];
  let runs = 0;
  let parallel = 0;
  let mostParallel = 0;
  const task = () => {
    runs++;
    parallel++;
    mostParallel = Math.max(mostParallel, parallel);
    return new Promise<number>((resolve) =>
      releases.push(() => {
        parallel--;
        resolve(runs);
      }),
    );
  };
  return { task, releases, stats: () => ({ runs, mostParallel }) };
}
const tick = () => new Promise((r) => setImmediate(r));

test("three calls during a run share it and ask for exactly one more run, never two at once", async () => {
  const c = controlled();
  const job = oneAtATime(c.task, () => false);
  const first = job.run();
  expect(job.current).toBe(first);
  const during = [job.run(), job.run(), job.run()];
  expect(during.every((p) => p === first)).toBe(true);
  c.releases.shift()!();
  expect(await first).toBe(1);
  await tick();
  expect(c.stats()).toEqual({ runs: 2, mostParallel: 1 });
  c.releases.shift()!();
  await tick();
  expect(job.current).toBeNull();
  expect(c.stats()).toEqual({ runs: 2, mostParallel: 1 });
});

test("once stopped, a call during the last run asks for nothing more", async () => {
  const c = controlled();
  let stopped = false;
  const job = oneAtATime(c.task, () => stopped);
  const first = job.run();
  void job.run();
  stopped = true;
  c.releases.shift()!();
  await first;
  await tick();
  expect(c.stats().runs).toBe(1);
  expect(job.current).toBeNull();
});
