// What happened to an account, kept and told: each event is a row of account_events (in the
// transaction or statement of what caused it, so it never costs a transaction of its own where the
// cause already writes) and a structured log line for operators (decisions/activity.ts).
import { activityLogLine, type ActivityEvent } from "../decisions/activity";
import type { Logger } from "../logger";
import type { Queryable } from "../services/db";
import { recordActivity, type Store } from "../services/store";

/**
 * The event's row, in `q` (the transaction of the change it tells), and its log line once the row is
 * written (`logger`: the admin commands have none; they tell their operator themselves).
 */
export async function noteActivity(q: Queryable, e: ActivityEvent, logger?: Pick<Logger, "info">): Promise<void> {
  await recordActivity(q, { userId: e.userId, kind: e.kind, detail: e.detail });
  if (logger) logActivity(logger, e);
}

/** The operators' log line of an event that was kept. */
export function logActivity(logger: Pick<Logger, "info">, e: ActivityEvent): void {
  logger.info(activityLogLine(e), `activity: ${e.kind.replace(/_/g, " ")}`);
}

/** An event with nothing else to write: its row (a statement committed durably), then its log line. */
export async function recordEvent(deps: { store: Pick<Store, "recordActivity">; logger: Pick<Logger, "info"> }, e: ActivityEvent): Promise<void> {
  await deps.store.recordActivity({ userId: e.userId, kind: e.kind, detail: e.detail });
  logActivity(deps.logger, e);
}
