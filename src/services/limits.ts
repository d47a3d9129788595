// The one module behind the shared attempt counters: rate-limiter-flexible's RateLimiterPostgres on
// the app's database (table rate_limits, created by a migration). Every replica counts in the same
// rows with one atomic upsert per attempt, and a restart forgets nothing.
import { createHash } from "node:crypto";
import type { Pool } from "pg";
import { RateLimiterPostgres, RateLimiterRes } from "rate-limiter-flexible";
import type { Env } from "../config/env";
import type { Metrics } from "./metrics";

/** What is counted. Each kind has its own limit and window (README "Security model"). */
export type LimitKind = "loginIp" | "loginAccount" | "loginDevice" | "registrationIp" | "invitationIp" | "verificationMail" | "recoveryIp" | "recoveryAddress" | "passwordCheckIp";

export interface LimitResult {
  allowed: boolean;
  /** When refused: seconds until the next attempt is allowed. */
  retryAfterSeconds: number;
}

export interface Limits {
  /** Counts one attempt; refused (and not counted further) once the limit is reached. */
  consume(kind: LimitKind, key: string): Promise<LimitResult>;
  /** Takes one counted attempt back (a sign-in that turned out to be right). */
  reward(kind: LimitKind, key: string): Promise<void>;
  /** True when the next attempt would be refused. */
  isBlocked(kind: LimitKind, key: string): Promise<boolean>;
  /** Forgets the counter. */
  reset(kind: LimitKind, key: string): Promise<void>;
}

export function limitSettings(env: Env): Record<LimitKind, { points: number; durationSeconds: number }> {
  return {
    loginIp: { points: env.LOGIN_MAX_FAILURES_PER_IP, durationSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS },
    loginAccount: { points: env.LOGIN_MAX_FAILURES_PER_ACCOUNT, durationSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS },
    loginDevice: { points: env.LOGIN_MAX_FAILURES_PER_DEVICE, durationSeconds: env.LOGIN_FAILURE_WINDOW_SECONDS },
    registrationIp: { points: env.REGISTRATION_MAX_PER_IP, durationSeconds: env.REGISTRATION_WINDOW_SECONDS },
    invitationIp: { points: env.INVITATION_MAX_PER_IP, durationSeconds: env.INVITATION_WINDOW_SECONDS },
    verificationMail: { points: env.VERIFICATION_MAIL_MAX, durationSeconds: env.VERIFICATION_MAIL_WINDOW_SECONDS },
    recoveryIp: { points: env.RECOVERY_MAX_PER_IP, durationSeconds: env.RECOVERY_WINDOW_SECONDS },
    recoveryAddress: { points: env.RECOVERY_MAX_PER_ADDRESS, durationSeconds: env.RECOVERY_WINDOW_SECONDS },
    // The live password-strength feedback (a few ms of CPU each; the script waits for a pause in typing).
    passwordCheckIp: { points: 300, durationSeconds: 10 * 60 },
  };
}

/** Keys are hashed: the table never holds an email address or an IP in clear. */
const hashKey = (key: string) => createHash("sha256").update(key, "utf8").digest("base64url");

export function createLimits(pool: Pool, env: Env, metrics?: Pick<Metrics, "rateLimitRefusals">): Limits {
  const settings = limitSettings(env);
  const limiters = Object.fromEntries(
    (Object.keys(settings) as LimitKind[]).map((kind) => [
      kind,
      new RateLimiterPostgres({
        storeClient: pool,
        tableName: "rate_limits",
        tableCreated: true,
        keyPrefix: kind,
        points: settings[kind].points,
        duration: settings[kind].durationSeconds,
        // Each instance deletes rows expired over an hour ago every 5 minutes (an unref'd timer).
        clearExpiredByTimeout: true,
      }),
    ]),
  ) as Record<LimitKind, RateLimiterPostgres>;

  return {
    async consume(kind, key) {
      try {
        await limiters[kind].consume(hashKey(key), 1);
        return { allowed: true, retryAfterSeconds: 0 };
      } catch (res) {
        // The library rejects with RateLimiterRes when over the limit, with an Error when the store failed.
        if (res instanceof RateLimiterRes) {
          metrics?.rateLimitRefusals.inc({ limit: kind });
          return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
        }
        throw res;
      }
    },
    async reward(kind, key) {
      await limiters[kind].reward(hashKey(key), 1);
    },
    async isBlocked(kind, key) {
      const res = await limiters[kind].get(hashKey(key));
      return res !== null && res.consumedPoints >= settings[kind].points;
    },
    async reset(kind, key) {
      await limiters[kind].delete(hashKey(key));
    },
  };
}
