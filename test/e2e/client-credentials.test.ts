// App to app: client credentials at the real Hydra with allowed audiences, and the resource-server
// middleware judging real tokens.
import express from "express";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startStack, type Stack } from "../support/stack";
import { introspect, tokenRequest } from "../support/oauth";
import { requireToken, type RequireTokenOptions } from "../../src";

jest.setTimeout(60_000);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    config: {
      "identifier-prefix": "org.example.",
      audiences: [
        { id: "org.example.registration", name: "Registration" },
        { id: "org.example.dealers-den", name: "Dealers' Den" },
        { id: "org.example.worker", name: "Background worker" },
      ],
      scopes: [
        { name: "registration.read", description: "Read registrations" },
        { name: "registration.write", description: "Change registrations" },
      ],
      clients: [
        {
          id: "worker",
          name: "Worker",
          audience: "org.example.worker",
          "secret-env": "WORKER_SECRET",
          "grant-types": ["client_credentials"],
          "response-types": ["token"],
          scopes: ["registration.read"],
          "allowed-audiences": ["org.example.registration"],
        },
      ],
    },
  });
});
afterAll(async () => stack?.stop());

const worker = () => ({ clientId: "worker", secret: stack.secrets.WORKER_SECRET! });
const clientCredentials = (audience: string, scope = "registration.read") =>
  tokenRequest(stack, { grant_type: "client_credentials", scope, audience }, worker());

describe("client credentials", () => {
  test("an allowed audience: the token's aud is it and sub is the client id", async () => {
    const res = await clientCredentials("org.example.registration");
    expect(res.status).toBe(200);
    const info = await introspect(stack, res.json.access_token);
    expect(info).toMatchObject({ active: true, aud: ["org.example.registration"], sub: "worker", client_id: "worker", scope: "registration.read" });
  });

  test("an audience outside the client's allowed list is refused by Hydra", async () => {
    const res = await clientCredentials("org.example.dealers-den");
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_request");
    expect(res.json.error_description).toMatch(/org\.example\.dealers-den/);
  });

  test("a scope the client is not registered for is refused", async () => {
    const res = await clientCredentials("org.example.registration", "registration.write");
    expect(res.status).toBe(400);
    expect(res.json.error).toBe("invalid_scope");
  });
});

describe("requireToken middleware against real tokens", () => {
  let server: Server;
  let base: string;
  let introspections = 0;

  async function serve(routes: Record<string, RequireTokenOptions>) {
    const app = express();
    for (const [p, opts] of Object.entries(routes)) app.get(p, requireToken(opts), (_req, res) => void res.json(res.locals.auth));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, "127.0.0.1", () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    const counting = { introspect: (token: string) => (introspections++, stack.hydra.introspect(token)) };
    await serve({
      "/registrations": { hydraAdminUrl: stack.hydraAdminUrl, audience: "org.example.registration", scopes: ["registration.read"] },
      "/registrations/write": { hydraAdminUrl: stack.hydraAdminUrl, audience: "org.example.registration", scopes: ["registration.write"] },
      "/dealers": { hydraAdminUrl: stack.hydraAdminUrl, audience: "org.example.dealers-den" },
      "/cached": { hydra: counting, audience: "org.example.registration", cache: { ttlSeconds: 60 } },
      "/down": { hydraAdminUrl: "http://127.0.0.1:1", audience: "org.example.registration", timeoutMs: 1000 },
    });
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));

  const call = async (p: string, token?: string, header?: string) => {
    const res = await fetch(`${base}${p}`, { headers: header ? { authorization: header } : token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, www: res.headers.get("www-authenticate"), body: (await res.json()) as Record<string, any> };
  };
  const token = async () => (await clientCredentials("org.example.registration")).json.access_token as string;

  test("valid token, right audience and scope → passes with the token's facts", async () => {
    const res = await call("/registrations", await token());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ subject: "worker", clientId: "worker", scopes: ["registration.read"], audience: ["org.example.registration"] });
  });

  test("no token → 401 with a bare Bearer challenge", async () => {
    const res = await call("/registrations");
    expect(res.status).toBe(401);
    expect(res.www).toBe('Bearer realm="org.example.registration"');
  });

  test("malformed Authorization header → 400 invalid_request", async () => {
    const res = await call("/registrations", undefined, "Basic abc");
    expect(res.status).toBe(400);
    expect(res.www).toContain('error="invalid_request"');
  });

  test("garbage token → 401 invalid_token", async () => {
    const res = await call("/registrations", "garbage");
    expect(res.status).toBe(401);
    expect(res.www).toContain('error="invalid_token"');
  });

  test("wrong audience → 401 invalid_token", async () => {
    const res = await call("/dealers", await token());
    expect(res.status).toBe(401);
    expect(res.www).toContain('error="invalid_token"');
    expect(res.body.error_description).toContain("not meant for this service");
  });

  test("missing scope → 403 insufficient_scope naming it", async () => {
    const res = await call("/registrations/write", await token());
    expect(res.status).toBe(403);
    expect(res.www).toBe(
      'Bearer realm="org.example.registration", error="insufficient_scope", error_description="The access token lacks the scope registration.write.", scope="registration.write"',
    );
  });

  test("revoked token → 401", async () => {
    const t = await token();
    expect((await call("/registrations", t)).status).toBe(200);
    const revoke = await fetch(`${stack.hydraPublicUrl}/oauth2/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Basic ${Buffer.from(`worker:${stack.secrets.WORKER_SECRET}`).toString("base64")}` },
      body: new URLSearchParams({ token: t }),
    });
    expect(revoke.status).toBe(200);
    expect((await call("/registrations", t)).status).toBe(401);
  });

  test("expired token → 401, also when cached (the cache never outlives the token)", async () => {
    const client = (await stack.hydra.getClient("worker"))!;
    await fetch(`${stack.hydraAdminUrl}/admin/clients/worker/lifespans`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_credentials_grant_access_token_lifespan: "2s" }),
    });
    try {
      const t = await token();
      expect((await call("/registrations", t)).status).toBe(200);
      expect((await call("/cached", t)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 3000));
      expect((await call("/registrations", t)).status).toBe(401);
      expect((await call("/cached", t)).status).toBe(401);
    } finally {
      await fetch(`${stack.hydraAdminUrl}/admin/clients/worker/lifespans`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({}) });
      expect((await stack.hydra.getClient("worker"))!.client_id).toBe(client.client_id);
    }
  });

  test("the cache answers repeated checks without asking Hydra again", async () => {
    const t = await token();
    const before = introspections;
    for (let i = 0; i < 5; i++) expect((await call("/cached", t)).status).toBe(200);
    expect(introspections - before).toBe(1);
  });

  test("Hydra unreachable → 503", async () => {
    const res = await call("/down", await token());
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("temporarily_unavailable");
  });
});
