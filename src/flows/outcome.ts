// What a use case (flows/) asks its route to answer with. Flows take plain inputs and know no
// Express; the route renders the page (adding what every form needs, its CSRF token) or redirects.
// Errors a person should see are thrown as AppError (src/errors.ts), as everywhere.
import type { Msg } from "../i18n";

export type Outcome =
  | { kind: "redirect"; to: string }
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
    };

export const page = (view: string, title: Msg, locals: Record<string, unknown> = {}, opts: { status?: number; form?: boolean } = {}): Outcome => ({ kind: "page", view, title, locals, ...opts });

/** The browser's session as a use case sees it: its data, and a way to keep a change. */
export interface BrowserSession<D> {
  readonly data: D;
  save(): Promise<void>;
}
