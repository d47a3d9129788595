// A tiny OAuth 2.0 client for the demo stack (not part of the product): it starts an
// authorization-code flow at Hydra for demo-web (confidential) or demo-mobile (public + PKCE),
// exchanges the code and shows the tokens, the ID token's claims and the access token's introspection.
import { createHash, randomBytes } from "node:crypto";
import express from "express";

const PORT = Number(process.env.DEMO_CLIENT_PORT ?? 5555);
const HYDRA_PUBLIC_URL = process.env.HYDRA_PUBLIC_URL ?? "http://127.0.0.1:4444";
const HYDRA_ADMIN_URL = process.env.HYDRA_ADMIN_URL ?? "http://127.0.0.1:4445";
const BASE = `http://127.0.0.1:${PORT}`;
const CLIENTS: Record<string, { secret?: string; label: string }> = {
  "demo-web": { secret: process.env.DEMO_WEB_CLIENT_SECRET, label: "Demo Web (confidential client)" },
  "demo-mobile": { label: "Demo Mobile (public client, PKCE)" },
};
const SCOPE = "openid profile email offline_access demo.read";

const pending = new Map<string, { clientId: string; verifier: string; nonce: string }>();
const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title: string, body: string) =>
  `<!doctype html><meta charset="utf-8"><title>${esc(title)}</title><body style="font-family:system-ui;max-width:60rem;margin:2rem auto"><h1>${esc(title)}</h1>${body}<p><a href="/">Back</a></p>`;

export function authorizationUrl(clientId: string, prompt?: string): string {
  const state = randomBytes(16).toString("base64url");
  const verifier = randomBytes(32).toString("base64url");
  const nonce = randomBytes(16).toString("base64url");
  pending.set(state, { clientId, verifier, nonce });
  const u = new URL(`${HYDRA_PUBLIC_URL}/oauth2/auth`);
  u.search = new URLSearchParams({
    client_id: clientId,
    response_type: "code",
    redirect_uri: `${BASE}/callback`,
    scope: SCOPE,
    state,
    nonce,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    ...(prompt ? { prompt } : {}),
  }).toString();
  return u.toString();
}

const app = express();
app.get("/", (_req, res) => {
  res.send(
    page(
      "Demo client",
      Object.entries(CLIENTS)
        .map(([id, c]) => `<p><a href="/start?client=${id}">Sign in with ${esc(c.label)}</a></p>`)
        .join("") + `<p class="muted">Both clients are in the audience <code>org.example.demo</code>: consent given through one covers the other.</p>`,
    ),
  );
});
app.get("/start", (req, res) => {
  const clientId = String(req.query.client ?? "");
  if (!CLIENTS[clientId]) return void res.status(400).send(page("Unknown client", ""));
  res.redirect(authorizationUrl(clientId, typeof req.query.prompt === "string" ? req.query.prompt : undefined));
});
app.get("/callback", async (req, res) => {
  const state = String(req.query.state ?? "");
  const flow = pending.get(state);
  pending.delete(state);
  if (req.query.error) return void res.status(400).send(page("Authorization refused", `<p>${esc(req.query.error)}: ${esc(req.query.error_description ?? "")}</p>`));
  if (!flow || typeof req.query.code !== "string") return void res.status(400).send(page("Unknown or replayed state", ""));
  const client = CLIENTS[flow.clientId]!;
  const body = new URLSearchParams({ grant_type: "authorization_code", code: req.query.code, redirect_uri: `${BASE}/callback`, code_verifier: flow.verifier });
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (client.secret) headers.authorization = `Basic ${Buffer.from(`${flow.clientId}:${client.secret}`).toString("base64")}`;
  else body.set("client_id", flow.clientId);
  const tokenRes = await fetch(`${HYDRA_PUBLIC_URL}/oauth2/token`, { method: "POST", headers, body });
  const tokens = (await tokenRes.json()) as Record<string, string>;
  if (!tokenRes.ok) return void res.status(502).send(page("Token exchange failed", `<pre>${esc(JSON.stringify(tokens, null, 2))}</pre>`));
  const idClaims = tokens.id_token ? JSON.parse(Buffer.from(tokens.id_token.split(".")[1]!, "base64url").toString()) : {};
  const introspection = await (
    await fetch(`${HYDRA_ADMIN_URL}/admin/oauth2/introspect`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: tokens.access_token! }) })
  ).json();
  res.send(
    page(
      `Signed in with ${flow.clientId}`,
      `<h2>ID token claims</h2><pre>${esc(JSON.stringify(idClaims, null, 2))}</pre>` +
        `<h2>Access token introspection (Hydra admin API)</h2><pre>${esc(JSON.stringify(introspection, null, 2))}</pre>` +
        `<h2>Token response</h2><pre>${esc(JSON.stringify(tokens, null, 2))}</pre>` +
        `<p><a href="${esc(`${HYDRA_PUBLIC_URL}/oauth2/sessions/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent(`${BASE}/`)}`)}">Sign out</a></p>`,
    ),
  );
});

if (require.main === module) {
  app.listen(PORT, "127.0.0.1", () => console.log(`demo client on ${BASE}`));
}
