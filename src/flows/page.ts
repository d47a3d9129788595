// How a use case changes the look of the pages it answers with, before it knows what it answers
// (an error page too follows it): the language the application asked for, the audience's brand.
// The route builds it from the response (middleware/page-locals.ts).
import type { Language } from "../i18n";

export interface PageLook {
  /** The application's ui_locales (OIDC): the pages follow them, unless the person chose a language. */
  followUiLocales(uiLocales: unknown): void;
  /** The audience's own name and logo (audience config `brand: { name, logo }`), when it has them. */
  useBrand(audience: { brandName?: string | null; brandLogo?: string | null } | null | undefined): void;
  /** The page's language as it is now (mails go out in it). */
  language(): Language;
}
