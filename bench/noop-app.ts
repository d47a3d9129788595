// The benchmark's reference login/consent apps for Ory Hydra (plain node:http, no framework):
//
//   MODE=noop    GET /login → accept at once with a fixed subject; GET /consent → accept every
//                requested scope. The flow's own limit: Hydra, the redirects and the token exchange.
//   MODE=argon2  the same, plus what any real login app must do: a login page with a CSRF field
//                (double-submit cookie) whose POST verifies an argon2id hash, and on a first-time
//                consent (Hydra does not remember one) a consent page with a form. Same page shapes
//                as the app's (form ids, field names), nothing else: no database, no sessions.
//
// Settings (environment): MODE, PORT, HYDRA_ADMIN_URL, PASSWORD_HASH (argon2 mode: an argon2id hash
// made with the app's own parameters; argon2.verify reads them from the hash), REMEMBER_FOR_SECONDS.
// Transpiled and started with plain `node` by bench/run.ts.
import http from "node:http";
import { randomBytes, timingSafeEqual } from "node:crypto";

const MODE = process.env.MODE === "argon2" ? "argon2" : "noop";
const PORT = Number(process.env.PORT ?? 0);
const ADMIN = new URL(process.env.HYDRA_ADMIN_URL ?? "http://127.0.0.1:4445");
const PASSWORD_HASH = process.env.PASSWORD_HASH ?? "";
const REMEMBER_FOR = Number(process.env.REMEMBER_FOR_SECONDS ?? 30 * 24 * 3600);
const SUBJECT = "noop-user";
const CSRF_COOKIE = "bench_csrf";
// Loaded only where it is used, so that the no-op's memory is the flow's alone.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const argon2: { verify(hash: string, password: string): Promise<boolean> } | undefined = MODE === "argon2" ? require("argon2") : undefined;

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function admin(method: "GET" | "PUT", path: string, body?: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        agent,
        method,
        hostname: ADMIN.hostname,
        port: ADMIN.port,
        path,
        headers: { accept: "application/json", ...(payload ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if ((res.statusCode ?? 500) >= 400) return reject(new Error(`Hydra ${method} ${path.split("?")[0]} answered ${res.statusCode}: ${text.slice(0, 200)}`));
          try {
            resolve(text ? JSON.parse(text) : {});
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

const q = (challenge: string, kind: "login" | "consent") => `${kind}_challenge=${encodeURIComponent(challenge)}`;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/style.css"></head>
<body><main class="card">
${body}
</main></body></html>`;
}

function loginPage(challenge: string, csrf: string, error?: string): string {
  return page(
    "Sign in",
    `<h1>Sign in</h1>
${error ? `<p class="error" role="alert" id="error">${esc(error)}</p>` : ""}
<form method="post" action="/login" id="login-form">
  <input type="hidden" name="_csrf" value="${esc(csrf)}">
  <input type="hidden" name="login_challenge" value="${esc(challenge)}">
  <label for="email">Email</label>
  <input type="email" id="email" name="email" value="" autocomplete="username" required autofocus>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required>
  <label class="check"><input type="checkbox" name="remember"> Stay signed in</label>
  <div class="actions"><button type="submit">Sign in</button></div>
</form>`,
  );
}

function consentPage(challenge: string, csrf: string, clientName: string, scopes: string[]): string {
  return page(
    "Allow access",
    `<h1>Allow access</h1>
<p id="context">${esc(clientName)} asks for:</p>
<ul class="scopes" id="scopes">
${scopes.map((s) => `  <li data-scope="${esc(s)}" class="new">${esc(s)}</li>`).join("\n")}
</ul>
<form method="post" action="/consent" id="consent-form">
  <input type="hidden" name="_csrf" value="${esc(csrf)}">
  <input type="hidden" name="consent_challenge" value="${esc(challenge)}">
  <div class="actions">
    <button type="submit" name="decision" value="allow">Allow</button>
    <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
  </div>
</form>`,
  );
}

function cookies(req: http.IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return out;
}

/** The browser's CSRF token (double-submit cookie): made when the browser has none. */
function csrfToken(req: http.IncomingMessage, res: http.ServerResponse): string {
  const have = cookies(req).get(CSRF_COOKIE);
  if (have) return have;
  const token = randomBytes(32).toString("base64url");
  res.setHeader("set-cookie", `${CSRF_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax`);
  return token;
}

function csrfOk(req: http.IncomingMessage, form: URLSearchParams): boolean {
  const a = Buffer.from(cookies(req).get(CSRF_COOKIE) ?? "");
  const b = Buffer.from(form.get("_csrf") ?? "");
  return a.length > 0 && a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: http.IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) req.destroy(new Error("form too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", reject);
  });
}

function redirect(res: http.ServerResponse, to: string, status = 302) {
  res.writeHead(status, { location: to, "content-length": "0" });
  res.end();
}

function html(res: http.ServerResponse, status: number, body: string) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "content-length": String(Buffer.byteLength(body)), "cache-control": "no-store" });
  res.end(body);
}

async function acceptConsent(challenge: string, request: any): Promise<string> {
  const r = await admin("PUT", `/admin/oauth2/auth/requests/consent/accept?${q(challenge, "consent")}`, {
    grant_scope: request.requested_scope ?? [],
    grant_access_token_audience: request.requested_access_token_audience ?? [],
    remember: true,
    remember_for: 0,
  });
  return r.redirect_to;
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://x");
  const route = `${req.method} ${url.pathname}`;

  if (route === "GET /health") return html(res, 200, "ok");

  if (route === "GET /login") {
    const challenge = url.searchParams.get("login_challenge") ?? "";
    if (MODE === "noop") {
      const r = await admin("PUT", `/admin/oauth2/auth/requests/login/accept?${q(challenge, "login")}`, { subject: SUBJECT, remember: true, remember_for: REMEMBER_FOR });
      return redirect(res, r.redirect_to);
    }
    const lr = await admin("GET", `/admin/oauth2/auth/requests/login?${q(challenge, "login")}`);
    if (lr.skip) {
      const r = await admin("PUT", `/admin/oauth2/auth/requests/login/accept?${q(challenge, "login")}`, { subject: lr.subject });
      return redirect(res, r.redirect_to);
    }
    return html(res, 200, loginPage(challenge, csrfToken(req, res)));
  }

  if (route === "POST /login" && MODE === "argon2") {
    const form = await readBody(req);
    if (!csrfOk(req, form)) return html(res, 403, page("Forbidden", "<h1>Forbidden</h1><p>Invalid CSRF token.</p>"));
    const challenge = form.get("login_challenge") ?? "";
    const email = (form.get("email") ?? "").trim().toLowerCase();
    const ok = await argon2!.verify(PASSWORD_HASH, form.get("password") ?? "").catch(() => false);
    if (!email || !ok) return html(res, 401, loginPage(challenge, csrfToken(req, res), "Incorrect email or password."));
    const remember = form.get("remember") === "on";
    const r = await admin("PUT", `/admin/oauth2/auth/requests/login/accept?${q(challenge, "login")}`, {
      subject: `user:${email}`,
      remember,
      remember_for: remember ? REMEMBER_FOR : 0,
    });
    return redirect(res, r.redirect_to, 303);
  }

  if (route === "GET /consent") {
    const challenge = url.searchParams.get("consent_challenge") ?? "";
    const cr = await admin("GET", `/admin/oauth2/auth/requests/consent?${q(challenge, "consent")}`);
    if (MODE === "noop" || cr.skip) return redirect(res, await acceptConsent(challenge, cr));
    return html(res, 200, consentPage(challenge, csrfToken(req, res), cr.client?.client_name || cr.client?.client_id || "", cr.requested_scope ?? []));
  }

  if (route === "POST /consent" && MODE === "argon2") {
    const form = await readBody(req);
    if (!csrfOk(req, form)) return html(res, 403, page("Forbidden", "<h1>Forbidden</h1><p>Invalid CSRF token.</p>"));
    const challenge = form.get("consent_challenge") ?? "";
    const cr = await admin("GET", `/admin/oauth2/auth/requests/consent?${q(challenge, "consent")}`);
    if (form.get("decision") !== "allow") {
      const r = await admin("PUT", `/admin/oauth2/auth/requests/consent/reject?${q(challenge, "consent")}`, { error: "access_denied" });
      return redirect(res, r.redirect_to, 303);
    }
    return redirect(res, await acceptConsent(challenge, cr), 303);
  }

  html(res, 404, page("Not found", "<h1>Not found</h1>"));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err: Error) => {
    if (!res.headersSent) html(res, 502, page("Error", `<h1>Error</h1><p class="error">${esc(err.message)}</p>`));
    else res.destroy();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, "127.0.0.1", () => {
  process.stdout.write(`listening ${MODE} ${JSON.stringify(server.address())}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
