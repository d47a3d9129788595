// The one module behind the shared attempt counters: what is counted, against which limits, and what
// the counts allow. The counters are fixed-window rows in the app's database (src/store/rate-limits.ts:
// table rate_limits, the layout rate-limiter-flexible's RateLimiterPostgres uses), counted in one
// statement, also inside another statement or the sign-in's own transaction. Every replica counts in
// the same rows with atomic upserts, and a restart forgets nothing.
import { createHash } from "node:crypto";
import type { Pool } from "pg";
import type { Env } from "../config/env";
import type { Metrics } from "./metrics";
import { loginLimitKeys, type LimitKey } from "../decisions/device-cookie";
import { consumeCounters, pruneCounters, settle, settleWrites, type CountedRow, type SignInCounters } from "../store/rate-limits";
import type { Along, Queryable } from "../store/sql";

export type { CountedRow, SignInCounters } from "../store/rate-limits";

/** What is counted. Each kind has its own limit and window (docs/security.md). */
export type LimitKind = "loginIp" | "loginAccount" | "loginDevice" | "registrationIp" | "invitationIp" | "verificationMail" | "verificationCodeAddress" | "verificationCodeIp" | "recoveryIp" | "recoveryAddress" | "passwordCheckIp" | "secondFactor" | "dataExport";

export interface LimitResult {
  allowed: boolean;
  /** When refused: seconds until the next attempt is allowed. */
  retryAfterSeconds: number;
}

export interface SignInCount extends LimitResult {
  /** The counters this attempt was counted against (settleSignIn takes it back from them). */
  counted: LimitKey[];
  /** When refused: the counter that refused it. */
  refusedBy?: LimitKey["kind"];
}

export interface Limits {
  /** Counts one attempt; refused once the limit is reached. */
  consume(kind: LimitKind, key: string, q?: Queryable): Promise<LimitResult>;
  /**
   * Counts a sign-in attempt (password typed on a sign-in or account page) against this browser's
   * device counter when it holds a device token for the account that is not itself over its limit,
   * else against the client IP and the account's "unknown devices" counter (OWASP device cookies).
   */
  consumeSignIn(input: { ip: string; emailNormalized: string; device: string | null }, q?: Queryable): Promise<SignInCount>;
  /**
   * consumeSignIn in two halves, for a statement that counts and does something else at once
   * (store.attemptSignIn): the counters to count, then the verdict on what counting returned
   * (a device counter over its limit is counted again like an unknown browser's, here).
   */
  signInCounters(input: { ip: string; emailNormalized: string; device: string | null }): SignInCounters;
  judgeSignIn(input: { ip: string; emailNormalized: string; device: string | null }, counters: SignInCounters, counted: readonly CountedRow[], q?: Queryable): Promise<SignInCount>;
  /** A right password: the device counter is cleared, the others take their attempt back. */
  settleSignIn(counted: readonly LimitKey[], q?: Queryable): Promise<void>;
  /** A right answer to a counter that counts every attempt (a second factor's code): it gives its attempt back. */
  takeBack(kind: LimitKind, key: string, q?: Queryable): Promise<void>;
  /** settleSignIn as writes of a composed statement (Along: the session's save at sign-in). */
  settleWrites(counted: readonly LimitKey[]): NonNullable<Along["writes"]>;
  /** Deletes counters whose window ended over an hour ago. */
  prune(): Promise<number>;
  close(): void;
}

export function limitSettings(env: Env): Record<LimitKind, { points: number; durationSeconds: number }> {
  return {
    loginIp: { points: env.LOGIN_MAX_FAILURES_PER_IP, durationSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS },
    loginAccount: { points: env.LOGIN_MAX_FAILURES_PER_ACCOUNT, durationSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS },
    loginDevice: { points: env.LOGIN_MAX_FAILURES_PER_DEVICE, durationSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS },
    registrationIp: { points: env.REGISTRATION_MAX_PER_IP, durationSeconds: env.REGISTRATION_WINDOW_SECONDS },
    invitationIp: { points: env.INVITATION_MAX_PER_IP, durationSeconds: env.INVITATION_WINDOW_SECONDS },
    verificationMail: { points: env.VERIFICATION_MAIL_MAX, durationSeconds: env.VERIFICATION_MAIL_WINDOW_SECONDS },
    verificationCodeAddress: { points: env.VERIFICATION_CODE_MAX_PER_ADDRESS, durationSeconds: env.VERIFICATION_CODE_WINDOW_SECONDS },
    verificationCodeIp: { points: env.VERIFICATION_CODE_MAX_PER_IP, durationSeconds: env.VERIFICATION_CODE_WINDOW_SECONDS },
    recoveryIp: { points: env.RECOVERY_MAX_PER_IP, durationSeconds: env.RECOVERY_WINDOW_SECONDS },
    recoveryAddress: { points: env.RECOVERY_MAX_PER_ADDRESS, durationSeconds: env.RECOVERY_WINDOW_SECONDS },
    // Codes typed for an account's second factor (authenticator or recovery code), per account.
    secondFactor: { points: env.SECOND_FACTOR_MAX_FAILURES, durationSeconds: env.SECOND_FACTOR_WINDOW_SECONDS },
    // "Download my data": a few a day per account (each reads every table about the person).
    dataExport: { points: 10, durationSeconds: 24 * 60 * 60 },
    // The live password-strength feedback (a few ms of CPU each; the script waits for a pause in typing).
    passwordCheckIp: { points: 300, durationSeconds: 10 * 60 },
  };
}

/** Keys are hashed: the table never holds an email address or an IP in clear. Row key: "<kind>:<hash>". */
export const rowKey = (kind: LimitKind, key: string) => `${kind}:${createHash("sha256").update(key, "utf8").digest("base64url")}`;

export function createLimits(pool: Pool, env: Env, metrics?: Pick<Metrics, "rateLimitRefusals">): Limits {
  const settings = limitSettings(env);

  const prepare = (keys: readonly { kind: LimitKind; key: string }[]) => ({
    rows: keys.map((k) => rowKey(k.kind, k.key)),
    now: Date.now(),
    durationsMs: keys.map((k) => settings[k.kind].durationSeconds * 1000),
  });

  function verdicts(keys: readonly { kind: LimitKind; key: string }[], rows: readonly string[], now: number, counted: readonly CountedRow[]): (LimitResult & { kind: LimitKind })[] {
    const byKey = new Map(counted.map((r) => [r.key, r]));
    return keys.map((k, i) => {
      const r = byKey.get(rows[i]!)!;
      const allowed = r.points <= settings[k.kind].points;
      if (!allowed) metrics?.rateLimitRefusals.inc({ limit: k.kind });
      return { kind: k.kind, allowed, retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((Number(r.expire) - now) / 1000)) };
    });
  }

  async function count(keys: readonly { kind: LimitKind; key: string }[], q: Queryable): Promise<(LimitResult & { kind: LimitKind })[]> {
    const counting = prepare(keys);
    return verdicts(keys, counting.rows, counting.now, await consumeCounters(q, counting));
  }

  /** After a right password: the device counter is cleared (first), the others take their attempt back (second). */
  const settled = (counted: readonly LimitKey[]): [string[], string[]] => [
    counted.filter((k) => k.kind === "loginDevice").map((k) => rowKey(k.kind, k.key)),
    counted.filter((k) => k.kind !== "loginDevice").map((k) => rowKey(k.kind, k.key)),
  ];

  function signInVerdict(keys: LimitKey[], results: (LimitResult & { kind: LimitKind })[]): SignInCount {
    const refused = results.find((r) => !r.allowed);
    return refused
      ? { allowed: false, retryAfterSeconds: Math.max(...results.map((r) => r.retryAfterSeconds)), counted: keys, refusedBy: refused.kind as LimitKey["kind"] }
      : { allowed: true, retryAfterSeconds: 0, counted: keys };
  }

  const limits: Limits = {
    async consume(kind, key, q = pool) {
      const [r] = await count([{ kind, key }], q);
      return { allowed: r!.allowed, retryAfterSeconds: r!.retryAfterSeconds };
    },

    async consumeSignIn(input, q = pool) {
      const counters = limits.signInCounters(input);
      return limits.judgeSignIn(input, counters, await consumeCounters(q, counters), q);
    },

    signInCounters({ ip, emailNormalized, device }) {
      const keys = loginLimitKeys({ ip, emailNormalized, device, deviceBlocked: false });
      return { keys, ...prepare(keys) };
    },

    async judgeSignIn({ ip, emailNormalized, device }, counters, counted, q = pool) {
      const results = verdicts(counters.keys, counters.rows, counters.now, counted);
      // A device token over its own limit counts like an unknown browser (its counter stays refused).
      if (device && !results[0]!.allowed) {
        const keys = loginLimitKeys({ ip, emailNormalized, device, deviceBlocked: true });
        return signInVerdict(keys, await count(keys, q));
      }
      return signInVerdict(counters.keys, results);
    },

    async settleSignIn(counted, q = pool) {
      await settle(q, ...settled(counted));
    },

    async takeBack(kind, key, q = pool) {
      await settle(q, [], [rowKey(kind, key)]);
    },

    settleWrites(counted) {
      return settleWrites(...settled(counted));
    },

    async prune() {
      return pruneCounters(pool, Date.now() - 60 * 60 * 1000);
    },

    close() {
      clearInterval(pruner);
    },
  };
  // Every instance deletes long-expired counters every 5 minutes (idempotent).
  const pruner = setInterval(() => void limits.prune().catch(() => undefined), 5 * 60 * 1000);
  pruner.unref();
  return limits;
}
