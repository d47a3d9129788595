// Hydra v2 challenges are stateless: its admin API answers a replayed challenge like a fresh one.
// The app records every challenge it answers, refuses a second answer (410), and forgets the
// record again when answering Hydra failed.
import type { ChallengeKind, Store } from "../services/store";
import { FlowAlreadyHandledError } from "../services/hydra";

export async function ensureNotHandled(store: Store, kind: ChallengeKind, challenge: string): Promise<void> {
  if (await store.isChallengeHandled(kind, challenge)) throw new FlowAlreadyHandledError(undefined);
}

/** Runs `answer` (the call that accepts or rejects at Hydra) at most once per challenge. */
export async function answerOnce<T>(store: Store, kind: ChallengeKind, challenge: string, answer: () => Promise<T>): Promise<T> {
  if (!(await store.claimChallenge(kind, challenge))) throw new FlowAlreadyHandledError(undefined);
  try {
    return await answer();
  } catch (err) {
    await store.releaseChallenge(kind, challenge).catch(() => undefined);
    throw err;
  }
}
