// A task that runs once at a time: a call while it runs asks for one more run right after it (however
// many calls came), so nothing announced meanwhile is missed and nothing runs twice at once. The
// configuration reload (a NOTIFY during a load) and the mail outbox (mail written during a round) use it.

export interface OneAtATime<T> {
  /** Runs the task, or, when it is running, answers with that run and asks for one more after it. */
  run(): Promise<T>;
  /** The run in progress, if any (to wait for it when closing). */
  readonly current: Promise<T> | null;
}

/** `task` must not reject (it handles its own errors); `stopped`: no run is asked for any more. */
export function oneAtATime<T>(task: () => Promise<T>, stopped: () => boolean): OneAtATime<T> {
  let current: Promise<T> | null = null;
  let again = false;
  const run = (): Promise<T> => {
    if (current) {
      again = true;
      return current;
    }
    current = task().finally(() => {
      current = null;
      if (again && !stopped()) {
        again = false;
        void run();
      }
    });
    return current;
  };
  return {
    run,
    get current() {
      return current;
    },
  };
}
