// The README's "## Admin scripts" commands and the demo stack's own seed commands (scripts/dev.sh),
// read from those files so that the tests run exactly what a reader would.
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { ROOT } from "./paths";
import type { Stack } from "./stack";

export interface ReadmeCommand {
  line: string;
  /** Variables named by the last "# Environment:" line before the command, in its block. */
  env: string[];
}

/** The shell commands of the README's "## Admin scripts" section, block by block, in order. */
export const readmeAdminCommands = (): ReadmeCommand[] => readmeCommands("## Admin scripts");

/** The shell commands of a README section (`heading` and its subsections), block by block, in order. */
export function readmeCommands(heading: string): ReadmeCommand[] {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}" section`);
  const rest = readme.slice(start + 1);
  const next = rest.indexOf("\n## ", 3);
  const section = next < 0 ? rest : rest.slice(0, next);
  const commands: ReadmeCommand[] = [];
  for (const block of section.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)) {
    let env: string[] | undefined;
    let pending = "";
    for (const raw of block[1]!.split("\n")) {
      const line = pending + raw;
      pending = "";
      const envLine = /^#\s*Environment:\s*(.*)$/.exec(line.trim());
      if (envLine) {
        // "# Environment: A, B (where it comes from)": the names, without the notes in parentheses.
        env = envLine[1]!.replace(/\([^)]*\)/g, "").split(/[,\s]+/).filter(Boolean);
        for (const name of env) if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`README "# Environment:" line names "${name}", which is not a variable name`);
        continue;
      }
      if (line.trim() === "" || line.trim().startsWith("#")) continue;
      if (line.endsWith("\\")) {
        pending = line.slice(0, -1);
        continue;
      }
      if (!env) throw new Error(`README command without an "# Environment:" line before it in its block: ${line}`);
      commands.push({ line: line.trim(), env });
    }
  }
  return commands;
}

/** Splits a command line the way a POSIX shell would for the simple quoting the README uses. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (/\s/.test(ch)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (ch === "#" && word === null) {
      break;
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (ch === '"') {
      const end = line.indexOf('"', i + 1);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (ch === "\\") {
      word = (word ?? "") + line[++i];
    } else word = (word ?? "") + ch;
  }
  if (word !== null) words.push(word);
  return words;
}

/** The values of `--name value` options (repeatable), and the leading VAR=value assignments. */
export function parsed(line: string) {
  const words = shellWords(line);
  const assignments: Record<string, string> = {};
  while (words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[0]!)) {
    const [k, ...v] = words.shift()!.split("=");
    assignments[k!] = v.join("=");
  }
  const options = (name: string) => words.flatMap((w, i) => (w === `--${name}` && words[i + 1] !== undefined ? [words[i + 1]!] : []));
  const option = (name: string) => options(name)[0];
  const flag = (name: string) => words.includes(`--${name}`);
  return { words, assignments, options, option, flag };
}

/**
 * The lines of scripts/dev.sh that apply the demo's configuration and create its demo user, in
 * order (they read $DEMO_EMAIL, $DEMO_PASSWORD and the variables dev.sh sets).
 */
export function devStackSeedCommands(): { seed: string[]; user: string[] } {
  const lines = fs.readFileSync(path.join(ROOT, "scripts", "dev.sh"), "utf8").split("\n").map((l) => l.trim());
  const seed = lines.filter((l) => !l.startsWith("#") && /(prisma\/seed\.ts|npm run (--silent )?seed)\b/.test(l));
  const user = lines.filter((l) => !l.startsWith("#") && /(src\/admin\/create-user\.ts|npm run (--silent )?user:create)\b/.test(l));
  if (seed.length !== 1 || user.length !== 1) throw new Error(`scripts/dev.sh: expected one seed line and one create-user line, found ${JSON.stringify({ seed, user })}`);
  return { seed, user };
}

/**
 * The environment a README command gets: the variables its "# Environment:" line names, with the
 * stack's values (client secrets from `secrets`, made up once per name), and none of the app's others.
 */
export function adminEnvironment(stack: Stack, names: readonly string[], secrets: Map<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (["DATABASE_URL", "HYDRA_ADMIN_URL", "HYDRA_PUBLIC_URL", "APP_BASE_URL", "AUDIENCES_CONFIG", "ACCOUNT_CLIENT_ID", "SMTP_URL", "MAIL_FROM"].includes(key) || /_SECRETS?$/.test(key)) delete env[key];
  }
  for (const name of names) {
    if (name === "DATABASE_URL") env[name] = stack.env.DATABASE_URL;
    else if (name === "HYDRA_ADMIN_URL") env[name] = stack.hydraAdminUrl;
    else if (name === "APP_BASE_URL") env[name] = stack.appUrl;
    else if (name === "SMTP_URL") env[name] = stack.mailpit!.smtpUrl;
    else if (name === "MAIL_FROM") env[name] = "Sign-in service <no-reply@localhost>";
    else if (/_SECRET$/.test(name)) {
      if (!secrets.has(name)) secrets.set(name, randomBytes(16).toString("hex"));
      env[name] = secrets.get(name);
    } else throw new Error(`the README names ${name}, which this test does not know how to provide`);
  }
  return env;
}

/**
 * Applies what `npm run dev` applies to a fresh stack: scripts/dev.sh's own seed and demo-user lines,
 * run as dev.sh runs them (its variables; each client secret the file names, made up once in `secrets`).
 */
export async function applyDevStackConfig(stack: Stack, secrets: Map<string, string>): Promise<void> {
  const { runCommand } = await import("./fixtures");
  const YAML = (await import("yaml")).default;
  const dev = devStackSeedCommands();
  const p = parsed(dev.seed[0]!);
  const file = p.option("config") ?? p.assignments.AUDIENCES_CONFIG ?? "config/audiences.yaml";
  const config = YAML.parse(fs.readFileSync(path.join(ROOT, file), "utf8")) as { clients?: { "secret-env"?: string }[] };
  const secretNames = (config.clients ?? []).flatMap((c) => (c["secret-env"] ? [c["secret-env"]] : []));
  const env = {
    ...adminEnvironment(stack, ["DATABASE_URL", "HYDRA_ADMIN_URL", "APP_BASE_URL", "SMTP_URL", "MAIL_FROM", ...secretNames], secrets),
    HYDRA_PUBLIC_URL: stack.hydraPublicUrl,
    DEMO_EMAIL: "demo@example.com",
    DEMO_PASSWORD: `demo-${randomBytes(6).toString("hex")}`,
  };
  for (const line of [...dev.seed, ...dev.user]) {
    const r = await runCommand("bash", ["-c", line], env);
    if (r.code !== 0) throw new Error(`scripts/dev.sh's line failed (exit ${r.code}): ${line}\n${r.stdout}\n${r.stderr}`);
  }
}
