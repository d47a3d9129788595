// Plain words for the OAuth 2.0 / OpenID Connect errors Hydra sends to its error page (urls.error),
// e.g. when a client's redirect URI is wrong, so that no error can be sent back to the client.
// Pure: the error code (and Hydra's description, shown only as a detail) in, a page's text out.

export interface ErrorExplanation {
  title: string;
  message: string;
  /** Whether the person can fix it themselves by starting again. */
  retry: boolean;
}

const EXPLANATIONS: Record<string, ErrorExplanation> = {
  invalid_request: {
    title: "This sign-in link is not valid",
    message: "The application sent you here with a request that could not be understood, for example a link that was cut off or changed. Go back to the application and start signing in again.",
    retry: true,
  },
  invalid_client: {
    title: "This application is not set up for sign-in",
    message: "The application that sent you here is not known or not allowed to sign you in. Its administrators need to fix this; please tell them.",
    retry: false,
  },
  unauthorized_client: {
    title: "This application may not sign you in this way",
    message: "The application asked for a kind of sign-in it is not allowed to use. Its administrators need to fix this; please tell them.",
    retry: false,
  },
  invalid_scope: {
    title: "This application asked for something it may not have",
    message: "The application asked for access that is not available to it. Its administrators need to fix this; please tell them.",
    retry: false,
  },
  access_denied: {
    title: "Access was not granted",
    message: "Signing in was cancelled or access was refused, so the application did not get access. You can start again from the application if that was a mistake.",
    retry: true,
  },
  request_forbidden: {
    title: "This request is not allowed",
    message: "The sign-in request was refused. Start again from the application; if it keeps happening, tell its administrators.",
    retry: true,
  },
  login_required: {
    title: "Please sign in",
    message: "The application needs you to sign in again. Go back to the application and start from there.",
    retry: true,
  },
  consent_required: {
    title: "Your approval is needed",
    message: "The application needs you to approve its access again. Go back to the application and start from there.",
    retry: true,
  },
  temporarily_unavailable: {
    title: "Sign-in is temporarily unavailable",
    message: "The sign-in service is busy or being maintained. Please try again in a few minutes.",
    retry: true,
  },
  server_error: {
    title: "Something went wrong on our side",
    message: "The sign-in service ran into a problem. Please try again in a few minutes; if it keeps happening, tell the application's administrators.",
    retry: true,
  },
};

const UNKNOWN: ErrorExplanation = {
  title: "Sign-in could not continue",
  message: "Something stopped the sign-in. Go back to the application and start again; if it keeps happening, tell its administrators what the details below say.",
  retry: true,
};

export function explainOAuthError(error: string | undefined): ErrorExplanation {
  return (error && Object.hasOwn(EXPLANATIONS, error) ? EXPLANATIONS[error] : undefined) ?? UNKNOWN;
}
