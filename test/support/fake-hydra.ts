// A stand-in for Hydra's admin API where a flow's call to Hydra is not the point of a test
// (test/integration/): the consent request's description, its acceptance and its rejection, with
// the paths and JSON bodies of src/services/hydra.ts. Like Hydra v2, it answers a challenge it
// knows every time it is asked (challenges are stateless there); an unknown one gets a 404.
// Every answer the app gave is kept, for the tests to check.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AcceptOAuth2ConsentRequest, OAuth2ConsentRequest } from "@ory/hydra-client";

const CONSENT = "/admin/oauth2/auth/requests/consent";

export interface ConsentAnswer {
  challenge: string;
  kind: "accept" | "reject";
  body: AcceptOAuth2ConsentRequest | { error: string; error_description: string };
}

export interface FakeHydra {
  /** The admin API's base URL (createHydra's adminUrl). */
  url: string;
  /** Makes `request` known under its challenge. */
  addConsentRequest(request: OAuth2ConsentRequest): void;
  /** The challenges whose description the app asked for, in order. */
  described: string[];
  /** What the app answered, in order. */
  answers: ConsentAnswer[];
  /** Where an answer sends the browser. */
  redirectFor(challenge: string, kind: ConsentAnswer["kind"]): string;
  close(): Promise<void>;
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
}

export async function startFakeHydra(): Promise<FakeHydra> {
  const requests = new Map<string, OAuth2ConsentRequest>();
  const described: string[] = [];
  const answers: ConsentAnswer[] = [];
  const redirectFor = (challenge: string, kind: ConsentAnswer["kind"]) => `http://client.test/callback?${kind}=${encodeURIComponent(challenge)}`;

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? "/", "http://fake-hydra");
    const challenge = url.searchParams.get("consent_challenge") ?? "";
    const request = requests.get(challenge);
    const route = `${req.method} ${url.pathname}`;
    const known = [`GET ${CONSENT}`, `PUT ${CONSENT}/accept`, `PUT ${CONSENT}/reject`];
    if (!known.includes(route)) return send(404, { error: "not_found", error_description: `the fake answers no ${route}` });
    if (!request) return send(404, { error: "Not Found", error_description: "Unable to locate the resource" });
    if (route === `GET ${CONSENT}`) {
      described.push(challenge);
      return send(200, request);
    }
    const kind = route.endsWith("/accept") ? "accept" : "reject";
    jsonBody(req).then(
      (body) => {
        answers.push({ challenge, kind, body: body as ConsentAnswer["body"] });
        send(200, { redirect_to: redirectFor(challenge, kind) });
      },
      () => send(400, { error: "invalid_request", error_description: "the body is no JSON" }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    addConsentRequest: (request) => void requests.set(request.challenge, request),
    described,
    answers,
    redirectFor,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
