// A concurrency gate: at most `limit` tasks run at once, the others wait in arrival order.
// Used to bound how many argon2 hashes run at the same time (each holds 12 MiB while it runs; see
// src/services/passwords.ts).

export interface Gate {
  /** Runs `task` once fewer than `limit` tasks are running; resolves or rejects as the task does. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running now. */
  readonly active: number;
  /** Tasks waiting for their turn. */
  readonly waiting: number;
  /** The limit; a new one applies to tasks that start from now on. */
  limit: number;
}

export function createGate(initialLimit: number): Gate {
  let limit = checkLimit(initialLimit);
  let active = 0;
  const queue: (() => void)[] = [];

  const next = () => {
    while (active < limit && queue.length > 0) {
      active++;
      queue.shift()!();
    }
  };

  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      return new Promise<void>((resolve) => {
        queue.push(resolve);
        next();
      }).then(async () => {
        try {
          return await task();
        } finally {
          active--;
          next();
        }
      });
    },
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    get limit() {
      return limit;
    },
    set limit(n: number) {
      limit = checkLimit(n);
      next();
    },
  };
}

function checkLimit(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`a gate's limit must be a whole number ≥ 1, got ${n}`);
  return n;
}
