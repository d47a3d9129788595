// Hydra v2 challenges are stateless: its admin API answers a replayed challenge like a fresh one.
// The app records every challenge it answers, refuses a second answer (410), and forgets the
// record again when answering Hydra failed.
import { createHash } from "node:crypto";
import { claimChallengeStatement, type ChallengeKind, type Store } from "../services/store";
import type { Along, Queryable } from "../services/db";
import { FlowAlreadyHandledError, type Hydra } from "../services/hydra";

/** What a refused replay needs of Hydra: the request it belongs to, for the "Start again" link. */
type RequestReader = Pick<Hydra, "getLoginRequest" | "getConsentRequest" | "getLogoutRequest">;

/**
 * Refuses a challenge this app already answered (410). The page leads back: to the original
 * authorization request when Hydra still knows it (starting it again starts a fresh flow).
 */
export async function ensureNotHandled(store: Pick<Store, "isChallengeHandled">, kind: ChallengeKind, challenge: string, hydra?: RequestReader | { requestUrl: string | undefined }): Promise<void> {
  if (!(await store.isChallengeHandled(kind, challenge))) return;
  if (hydra && "requestUrl" in hydra) throw new FlowAlreadyHandledError(hydra.requestUrl || undefined);
  throw new FlowAlreadyHandledError(hydra ? await requestUrlOf(hydra, kind, challenge) : undefined);
}

/** A replay refused by answerOnce gets the "Start again" link of the request it belongs to. */
export function withRestartLink(requestUrl: string | undefined): (err: unknown) => never {
  return (err) => {
    if (err instanceof FlowAlreadyHandledError && !err.redirectTo && requestUrl) throw new FlowAlreadyHandledError(requestUrl);
    throw err;
  };
}

async function requestUrlOf(hydra: RequestReader, kind: ChallengeKind, challenge: string): Promise<string | undefined> {
  try {
    const request = kind === "login" ? await hydra.getLoginRequest(challenge) : kind === "consent" ? await hydra.getConsentRequest(challenge) : await hydra.getLogoutRequest(challenge);
    return request.request_url || undefined;
  } catch (err) {
    return err instanceof FlowAlreadyHandledError ? err.redirectTo : undefined;
  }
}

/**
 * Runs `answer` (the call that accepts or rejects at Hydra) at most once per challenge. `alongside`
 * (other writes of the step) runs in the same transaction as the claim: a replay writes nothing.
 */
export async function answerOnce<T>(store: Pick<Store, "bookkeepingTransaction" | "claimChallenge" | "releaseChallenge">, kind: ChallengeKind, challenge: string, answer: () => Promise<T>, alongside?: (q: Queryable) => Promise<void>): Promise<T> {
  const claimed = alongside
    ? await store.bookkeepingTransaction(async (q) => {
        if (!(await store.claimChallenge(kind, challenge, q))) return false;
        await alongside(q);
        return true;
      })
    : await store.claimChallenge(kind, challenge);
  if (!claimed) throw new FlowAlreadyHandledError(undefined);
  return answerClaimed(store, kind, challenge, answer);
}

/**
 * The challenge's claim as the gate of a composed write (db.ts Along; then answerClaimed): when it
 * was answered already, nothing of the write is written and it fails with a 410.
 */
export function claimGate(kind: ChallengeKind, challenge: string): NonNullable<Along["gate"]> {
  return { sql: claimChallengeStatement(kind, challenge), refused: () => new FlowAlreadyHandledError(undefined) };
}

/** Runs `answer` for a challenge claimed already; forgets the claim when answering Hydra failed. */
export async function answerClaimed<T>(store: Pick<Store, "releaseChallenge">, kind: ChallengeKind, challenge: string, answer: () => Promise<T>): Promise<T> {
  try {
    return await answer();
  } catch (err) {
    await store.releaseChallenge(kind, challenge).catch(() => undefined);
    throw err;
  }
}

/**
 * answerOnce for an answer that only repeats what Hydra decided itself (a sign-in Hydra skipped: its
 * own session names the user): the claim and the answer run at the same time, and the answer is
 * used only when the claim succeeded, so a replay still gets the 410 page and never Hydra's redirect.
 */
export async function answerOnceConcurrently<T>(
  store: Pick<Store, "claimChallenge" | "releaseChallenge">,
  kind: ChallengeKind,
  challenge: string,
  answer: () => Promise<T>,
  /** The claim, when it writes more in its statement (store.claimSkippedSignIn). */
  claim: () => Promise<boolean> = () => store.claimChallenge(kind, challenge),
): Promise<T> {
  const [claimed, answered] = await Promise.allSettled([claim(), answer()]);
  if (claimed.status === "rejected") throw claimed.reason;
  if (!claimed.value) throw new FlowAlreadyHandledError(undefined);
  if (answered.status === "rejected") {
    await store.releaseChallenge(kind, challenge).catch(() => undefined);
    throw answered.reason;
  }
  return answered.value;
}

/** A challenge's digest: what a held step keeps in the session to match the form's challenge against. */
export const challengeDigest = (c: string) => createHash("sha256").update(c).digest("base64url");
