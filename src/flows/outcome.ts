// What a use case (flows/) asks its route to answer with. Flows take plain inputs and know no
// Express; the route renders the page (adding what every form needs, its CSRF token) or redirects.
// Errors a person should see are thrown as AppError (src/errors.ts), as everywhere.
import type { Msg } from "../i18n";

export type Outcome =
  | { kind: "redirect"; to: string }
  /** A file to save (a download): its name and its JSON content. */
  | { kind: "download"; filename: string; json: unknown }
  | {
      kind: "page";
      /** A template under views/. */
      view: string;
      title: Msg;
      status?: number;
      /** The template's values; a Msg among them (or in an object among them) is shown in the page's language. */
      locals: Record<string, unknown>;
      /** The page has a form: it gets the session's CSRF token (which keeps a session for the browser). */
      form?: boolean;
      /** Response headers of the page (a refusal's Retry-After). */
      headers?: Record<string, string>;
    };

export const page = (view: string, title: Msg, locals: Record<string, unknown> = {}, opts: { status?: number; form?: boolean; headers?: Record<string, string> } = {}): Outcome => ({
  kind: "page",
  view,
  title,
  locals,
  ...opts,
});

/** A page that says to try again later: its Retry-After header. */
export const retryAfter = (outcome: Outcome, seconds: number): Outcome => (outcome.kind === "page" ? { ...outcome, headers: { ...outcome.headers, "Retry-After": String(seconds) } } : outcome);

/** The browser's session as a use case sees it: its data, and a way to keep a change. */
export interface BrowserSession<D> {
  readonly data: D;
  save(): Promise<void>;
}
