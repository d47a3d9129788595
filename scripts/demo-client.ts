// A tiny OAuth 2.0 client for the demo stack (not part of the product): it starts an
// authorization-code flow at Hydra for demo-web (confidential) or demo-mobile (public + PKCE),
// exchanges the code and shows the tokens, the ID token's claims and the access token's introspection.
// Its pages wear the app's own stylesheet (public/app.css, served from here: the app's answers carry
// Cross-Origin-Resource-Policy: same-origin, so another origin cannot load them from the app).
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import express from "express";
import { ROOT_DIR } from "../src/paths";
import { darkSchemeAccent } from "../src/decisions/brand";

export interface DemoClientOptions {
  /** Where this client is reached (its redirect URI is `${baseUrl}/callback`). */
  baseUrl: string;
  /** Hydra's public URL as browsers reach it (the authorization and logout endpoints). */
  hydraPublicUrl: string;
  /** Hydra's public URL as this client reaches it for the token endpoint (default hydraPublicUrl). */
  hydraPublicInternalUrl?: string;
  hydraAdminUrl: string;
  /** demo-web's secret (DEMO_WEB_CLIENT_SECRET). */
  webSecret?: string;
  /** The app's BRAND_PRIMARY_COLOR, so that buttons and links look the same as the app's. */
  primaryColor?: string;
}

const SCOPE = "openid profile email offline_access demo.read";
const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const json = (value: unknown) => `<pre>${esc(JSON.stringify(value, null, 2))}</pre>`;

function page(title: string, body: string, opts: { home?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light dark">
  <title>${esc(title)} – Demo client</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/app.css">
  <link rel="stylesheet" href="/demo.css">
</head>
<body>
<header class="site-header"><span class="product">Demo client</span></header>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
${opts.home ? "" : `<footer class="site-footer"><a id="back" href="/">Back to the demo client</a></footer>`}
</body>
</html>`;
}

export function createDemoClient(opts: DemoClientOptions): express.Express {
  const clients: Record<string, { secret?: string; label: string }> = {
    "demo-web": { secret: opts.webSecret, label: "Demo Web (confidential client)" },
    "demo-mobile": { label: "Demo Mobile (public client, PKCE)" },
  };
  const redirectUri = `${opts.baseUrl}/callback`;
  const primary = opts.primaryColor ?? "#2a5bd7";
  // The variables the app's /brand.css sets, and room for tokens: they wrap rather than widen the page.
  const demoCss =
    `:root { --primary: ${primary}; --primary-on-dark: ${darkSchemeAccent(primary)}; }\n` +
    `main, .site-header, .site-footer { max-width: 48rem; }\n` +
    `pre { white-space: pre-wrap; overflow-wrap: anywhere; font-size: .85rem; }\n`;
  const pending = new Map<string, { clientId: string; verifier: string; nonce: string }>();

  function authorizationUrl(clientId: string, prompt?: string): string {
    const state = randomBytes(16).toString("base64url");
    const verifier = randomBytes(32).toString("base64url");
    const nonce = randomBytes(16).toString("base64url");
    pending.set(state, { clientId, verifier, nonce });
    const u = new URL(`${opts.hydraPublicUrl}/oauth2/auth`);
    u.search = new URLSearchParams({
      client_id: clientId,
      response_type: "code",
      redirect_uri: redirectUri,
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
  app.disable("x-powered-by");
  const publicDir = path.join(ROOT_DIR, "public");
  app.get("/static/app.css", (_req, res) => res.sendFile(path.join(publicDir, "app.css")));
  app.get("/static/favicon.svg", (_req, res) => res.sendFile(path.join(publicDir, "favicon.svg")));
  // Browsers ask for /favicon.ico on their own (after a redirect, for a page without an icon link).
  app.get("/favicon.ico", (_req, res) => res.redirect(301, "/static/favicon.svg"));
  app.get("/demo.css", (_req, res) => res.type("text/css").send(demoCss));

  app.get("/", (_req, res) => {
    res.send(
      page(
        "Try a sign-in",
        Object.entries(clients)
          .map(([id, c]) => `<p><a class="button" href="/start?client=${id}">Sign in with ${esc(c.label)}</a></p>`)
          .join("") + `<p class="muted">Both clients are in the audience <code>org.example.demo</code>: consent given through one covers the other.</p>`,
        { home: true },
      ),
    );
  });
  app.get("/start", (req, res) => {
    const clientId = String(req.query.client ?? "");
    if (!clients[clientId]) return void res.status(400).send(page("Unknown client", ""));
    res.redirect(authorizationUrl(clientId, typeof req.query.prompt === "string" ? req.query.prompt : undefined));
  });
  app.get("/callback", async (req, res) => {
    const state = String(req.query.state ?? "");
    const flow = pending.get(state);
    pending.delete(state);
    if (req.query.error) return void res.status(400).send(page("Authorization refused", `<p>${esc(req.query.error)}: ${esc(req.query.error_description ?? "")}</p>`));
    if (!flow || typeof req.query.code !== "string") return void res.status(400).send(page("Unknown or replayed state", ""));
    const client = clients[flow.clientId]!;
    const body = new URLSearchParams({ grant_type: "authorization_code", code: req.query.code, redirect_uri: redirectUri, code_verifier: flow.verifier });
    const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
    if (client.secret) headers.authorization = `Basic ${Buffer.from(`${flow.clientId}:${client.secret}`).toString("base64")}`;
    else body.set("client_id", flow.clientId);
    const tokenRes = await fetch(`${opts.hydraPublicInternalUrl ?? opts.hydraPublicUrl}/oauth2/token`, { method: "POST", headers, body });
    const tokens = (await tokenRes.json()) as Record<string, string>;
    if (!tokenRes.ok) return void res.status(502).send(page("Token exchange failed", json(tokens)));
    const idClaims = tokens.id_token ? JSON.parse(Buffer.from(tokens.id_token.split(".")[1]!, "base64url").toString()) : {};
    const introspection = await (
      await fetch(`${opts.hydraAdminUrl}/admin/oauth2/introspect`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: tokens.access_token! }) })
    ).json();
    const signOut = `${opts.hydraPublicUrl}/oauth2/sessions/logout?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent(`${opts.baseUrl}/`)}`;
    res.send(
      page(
        `Signed in with ${flow.clientId}`,
        `<h2>ID token claims</h2><div id="id-claims">${json(idClaims)}</div>` +
          `<h2>Access token introspection (Hydra admin API)</h2><div id="introspection">${json(introspection)}</div>` +
          `<h2>Token response</h2><div id="tokens">${json(tokens)}</div>` +
          `<p><a class="button" id="sign-out" href="${esc(signOut)}">Sign out</a></p>`,
      ),
    );
  });
  return app;
}

if (require.main === module) {
  const port = Number(process.env.DEMO_CLIENT_PORT ?? 5555);
  // Browsers reach it at 127.0.0.1 (its redirect URI in config/demo.yaml); in a container it listens
  // on every interface (DEMO_CLIENT_HOST=0.0.0.0) behind that published port.
  const baseUrl = `http://127.0.0.1:${port}`;
  const app = createDemoClient({
    baseUrl,
    hydraPublicUrl: process.env.HYDRA_PUBLIC_URL ?? "http://127.0.0.1:4444",
    hydraPublicInternalUrl: process.env.HYDRA_PUBLIC_INTERNAL_URL,
    hydraAdminUrl: process.env.HYDRA_ADMIN_URL ?? "http://127.0.0.1:4445",
    webSecret: process.env.DEMO_WEB_CLIENT_SECRET,
    primaryColor: process.env.BRAND_PRIMARY_COLOR,
  });
  app.listen(port, process.env.DEMO_CLIENT_HOST ?? "127.0.0.1", () => console.log(`demo client on ${baseUrl}`));
}
