// Plain words for the OAuth 2.0 / OpenID Connect errors Hydra sends to its error page (urls.error),
// e.g. when a client's redirect URI is wrong, so that no error can be sent back to the client.
// Pure: the error code (and Hydra's description, shown only as a detail) in, a page's text out.

export interface ErrorExplanation {
  /** Translation keys (errors:oauth.<code>.title / .message). */
  title: string;
  message: string;
  /** Whether the person can fix it themselves by starting again. */
  retry: boolean;
}

/** Codes with their own explanation, and whether starting again can help. */
const RETRY: Record<string, boolean> = {
  invalid_request: true,
  invalid_client: false,
  unauthorized_client: false,
  invalid_scope: false,
  access_denied: true,
  request_forbidden: true,
  login_required: true,
  consent_required: true,
  temporarily_unavailable: true,
  server_error: true,
};

export function explainOAuthError(error: string | undefined): ErrorExplanation {
  const code = error && Object.hasOwn(RETRY, error) ? error : "unknown";
  return { title: `errors:oauth.${code}.title`, message: `errors:oauth.${code}.message`, retry: RETRY[code] ?? true };
}
