// "Download my data" on /account (GDPR articles 15 and 20): after the current password, one JSON
// file of everything stored about the person (store/data-export.ts: profile, attributes, consents
// with their history, sessions, mail sent, second factors' names), never a secret. Counted per account.
import { credentialRefusal } from "../decisions/account-settings";
import { msg } from "../i18n";
import type { Limits } from "../services/limits";
import type { Store } from "../services/store";
import { accountPage } from "./account";
import { checkCurrentPassword, signedInUser, type AccountActor, type AccountBrowser, type AccountSettingsDeps } from "./account-settings";
import { retryAfter, type Outcome } from "./outcome";

/** The export's format, named in the file: a reader can tell what it holds and how (docs/data-export.md). */
export const EXPORT_FORMAT = "hydra-audience-login/user-export/v1";

export interface DataExportDeps extends AccountSettingsDeps {
  store: AccountSettingsDeps["store"] & Pick<Store, "exportUser">;
  limits: AccountSettingsDeps["limits"] & Pick<Limits, "consume">;
}

/** The person's data as the file holds it, or null when there is no such user. */
export async function userExport(store: Pick<Store, "exportUser">, userId: string, now = new Date()): Promise<Record<string, unknown> | null> {
  const data = await store.exportUser(userId);
  return data ? { format: EXPORT_FORMAT, exportedAt: now.toISOString(), ...data } : null;
}

/** POST /account/export: the current password, then the file. */
export async function downloadMyData(deps: DataExportDeps, browser: AccountBrowser, input: AccountActor & { currentPassword: string }): Promise<Outcome> {
  const user = await signedInUser(deps, input.userId);
  const refusal = credentialRefusal(await checkCurrentPassword(deps, browser, { user, ip: input.ip, given: input.currentPassword }));
  if (refusal) return accountPage(deps, input, { status: refusal.status, error: { form: "export", message: refusal.message, field: "export-password" } });
  const limit = await deps.limits.consume("dataExport", user.id);
  if (!limit.allowed) {
    const hours = Math.max(1, Math.ceil(limit.retryAfterSeconds / 3600));
    return retryAfter(await accountPage(deps, input, { status: 429, error: { form: "export", message: msg("account:export.tooMany", { count: hours }) } }), limit.retryAfterSeconds);
  }
  const data = await userExport(deps.store, user.id);
  deps.logger.info({ event: "data_exported", subject: user.id }, "data exported by its owner");
  return { kind: "download", filename: `my-data-${new Date().toISOString().slice(0, 10)}.json`, json: data };
}
