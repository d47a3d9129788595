// A real Mailpit (SMTP server + HTTP API, built by scripts/build-mailpit.sh into .bin/mailpit) on
// free ports of 127.0.0.1, so end-to-end tests read the app's real mail instead of a mocked mailer.
// Field names of Mailpit's API (v1.33.1), as it answers:
//   GET /api/v1/messages, GET /api/v1/search?query=…  → { messages_count, messages: [{ ID, Subject,
//     From: { Name, Address }, To: [{ Name, Address }], Cc, Created, Snippet, … }] } (newest first)
//   GET /api/v1/message/<ID> → { ID, Subject, From, To, Cc, Text, HTML, Date, … } (Text has CRLF line ends)
//   DELETE /api/v1/messages → empties the mailbox.
// `to:` searches the To header only, case-insensitively and by substring: results are filtered here
// to the exact address.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./paths";
import { freePort } from "./ports";

export const MAILPIT_BIN = process.env.MAILPIT_BIN ?? path.join(ROOT, ".bin", "mailpit");

interface ApiAddress {
  Name: string;
  Address: string;
}
interface ApiSummary {
  ID: string;
  Subject: string;
  From: ApiAddress | null;
  To: ApiAddress[] | null;
  Created: string;
  Snippet: string;
}
interface ApiMessage {
  ID: string;
  Subject: string;
  From: ApiAddress | null;
  To: ApiAddress[] | null;
  Text: string;
  HTML: string;
}

export interface MailSummary {
  id: string;
  subject: string;
  /** Addresses of the To header, lower-cased. */
  to: string[];
  from: string;
  created: string;
  snippet: string;
}

export interface Mail {
  id: string;
  subject: string;
  /** Plain-text body with "\n" line ends (Mailpit keeps the wire's "\r\n"). */
  text: string;
  html: string;
  /** Addresses of the To header, lower-cased. */
  to: string[];
  from: string;
}

export interface Mailpit {
  /** For the app's SMTP_URL: smtp://127.0.0.1:<port> (no TLS, no auth). */
  smtpUrl: string;
  /** Mailpit's HTTP API and web address: http://127.0.0.1:<port>. */
  apiUrl: string;
  /** Stops Mailpit (SMTP refuses connections until start()). Its messages are gone with it. */
  stop(): Promise<void>;
  /** Starts it again on the same ports, with an empty mailbox. */
  start(): Promise<void>;
  /** Messages in the mailbox, newest first; with `to`, only those addressed (To) exactly to it. */
  messages(to?: string): Promise<MailSummary[]>;
  /** Polls until a message to `to` (and with a subject matching `subject`) is there; the newest such one. */
  waitForMessage(opts: { to: string; subject?: RegExp; timeoutMs?: number }): Promise<Mail>;
  /** The http(s) links in the message's plain-text body, in order, without duplicates. */
  links(message: Pick<Mail, "text">): string[];
  deleteAll(): Promise<void>;
}


function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const address = (a: ApiAddress | null | undefined) => (a?.Address ?? "").toLowerCase();

/** Extracts the http(s) links of a plain-text body (trailing sentence punctuation left out). */
export function extractLinks(text: string): string[] {
  const found = (text.match(/https?:\/\/[^\s<>"'()[\]{}]+/g) ?? []).map((l) => l.replace(/[.,;:!?]+$/, ""));
  return [...new Set(found)];
}

export async function startMailpit(): Promise<Mailpit> {
  const smtpPort = await freePort();
  const httpPort = await freePort();
  const smtpUrl = `smtp://127.0.0.1:${smtpPort}`;
  const apiUrl = `http://127.0.0.1:${httpPort}`;
  let proc: ChildProcess | undefined;
  let dataDir: string | undefined;
  let output = "";

  async function api<T>(pathAndQuery: string, init?: RequestInit): Promise<T> {
    const res = await fetch(`${apiUrl}${pathAndQuery}`, init);
    if (!res.ok) throw new Error(`Mailpit ${init?.method ?? "GET"} ${pathAndQuery}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async function summaries(to?: string): Promise<MailSummary[]> {
    const wanted = to?.toLowerCase();
    const list = wanted
      ? await api<{ messages: ApiSummary[] }>(`/api/v1/search?limit=1000&query=${encodeURIComponent(`to:"${wanted}"`)}`)
      : await api<{ messages: ApiSummary[] }>("/api/v1/messages?limit=1000");
    return list.messages
      .map((m) => ({ id: m.ID, subject: m.Subject, to: (m.To ?? []).map(address), from: address(m.From), created: m.Created, snippet: m.Snippet }))
      .filter((m) => !wanted || m.to.includes(wanted));
  }

  const handle: Mailpit = {
    smtpUrl,
    apiUrl,
    async start() {
      if (proc && proc.exitCode === null && proc.signalCode === null) throw new Error("Mailpit is already running");
      output = "";
      // Its own database file in a fresh folder (removed by stop()): nothing outlives the test.
      dataDir = mkdtempSync(path.join(os.tmpdir(), "mailpit-test-"));
      const args = [
        "--smtp", `127.0.0.1:${smtpPort}`,
        "--listen", `127.0.0.1:${httpPort}`,
        "--database", path.join(dataDir, "mailpit.db"),
        "--disable-version-check", // no look-up of newer releases on the internet
        "--smtp-disable-rdns", // no reverse-DNS look-up of each SMTP client
        "--quiet", // errors only
      ];
      // POP3 stays off (Mailpit starts it only with --pop3-auth-file).
      const p = spawn(MAILPIT_BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
      proc = p;
      p.stdout!.on("data", (d) => (output += d));
      p.stderr!.on("data", (d) => (output += d));
      const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
      p.once("error", (err) => (output += String(err)));
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        if (p.exitCode !== null || p.signalCode !== null) throw new Error(`Mailpit exited (${p.exitCode ?? p.signalCode}):\n${output}`);
        const httpReady = await fetch(`${apiUrl}/readyz`).then((r) => r.ok, () => false);
        if (httpReady && (await tcpOpen(smtpPort))) return;
        await Promise.race([new Promise((r) => setTimeout(r, 50)), exited]);
      }
      await handle.stop();
      throw new Error(`Mailpit did not become ready within 15 s:\n${output}`);
    },
    async stop() {
      const p = proc;
      if (p && p.exitCode === null && p.signalCode === null) {
        await new Promise<void>((resolve) => {
          p.once("exit", () => resolve());
          p.kill("SIGTERM");
          setTimeout(() => p.kill("SIGKILL"), 5000).unref();
        });
      }
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      dataDir = undefined;
    },
    messages: summaries,
    async waitForMessage({ to, subject, timeoutMs = 10_000 }) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = (await summaries(to)).find((m) => !subject || subject.test(m.subject));
        if (hit) {
          const m = await api<ApiMessage>(`/api/v1/message/${encodeURIComponent(hit.id)}`);
          return { id: m.ID, subject: m.Subject, text: (m.Text ?? "").replace(/\r\n/g, "\n"), html: m.HTML ?? "", to: (m.To ?? []).map(address), from: address(m.From) };
        }
        if (Date.now() >= deadline) {
          const all = await summaries().catch(() => []);
          throw new Error(
            `no message to ${to}${subject ? ` with a subject matching ${subject}` : ""} within ${timeoutMs} ms; ` +
              `the mailbox holds ${all.length}: ${JSON.stringify(all.slice(0, 10).map((m) => ({ to: m.to, subject: m.subject })))}`,
          );
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    links: (message) => extractLinks(message.text),
    async deleteAll() {
      const res = await fetch(`${apiUrl}/api/v1/messages`, { method: "DELETE" }); // answers a plain "ok"
      if (!res.ok) throw new Error(`Mailpit DELETE /api/v1/messages: HTTP ${res.status} ${await res.text()}`);
    },
  };
  await handle.start();
  return handle;
}
