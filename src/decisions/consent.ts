// Pure decisions of the consent step (no I/O).

export type ConsentStep =
  | { kind: "accept"; grantScope: string[]; grantAudience: string[] }
  | { kind: "show"; scopes: string[] };

export interface ConsentInput {
  /** Hydra says consent was already given and may be skipped. */
  skip: boolean;
  requestedScopes: string[];
  requestedAudiences: string[];
}

export function decideConsent(input: ConsentInput): ConsentStep {
  const scopes = unique(input.requestedScopes);
  if (input.skip) return { kind: "accept", grantScope: scopes, grantAudience: unique(input.requestedAudiences) };
  return { kind: "show", scopes };
}

export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
