// The Helm chart deploy/helm/hydra-audience-login: `helm lint` and `helm template` (offline, no
// cluster) with its default values and with deploy/helm/examples/app-production.yaml, the rendered
// manifests parsed and checked. Needs .bin/helm: `bash scripts/build-helm.sh` (npm test runs it).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { ConfigError, loadEnv } from "../../src/config/env";
import { parseAppConfig } from "../../src/config/audiences";
import { ROOT } from "../support/paths";

const HELM = process.env.HELM_BIN ?? path.join(ROOT, ".bin", "helm");
const CHART = path.join(ROOT, "deploy", "helm", "hydra-audience-login");
const PROD = path.join(ROOT, "deploy", "helm", "examples", "app-production.yaml");
const HYDRA_VALUES = path.join(ROOT, "deploy", "helm", "examples", "hydra-values.yaml");
const RELEASE = "login";
const FULLNAME = "login-hydra-audience-login";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: unknown };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  ports?: { name: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; emptyDir?: unknown; configMap?: { name: string } }[];
  automountServiceAccountToken?: boolean;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  // Each kind's own fields; read through the helpers below.
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

let helmHome: string;

beforeAll(() => {
  if (!fs.existsSync(HELM)) {
    throw new Error(`Helm is missing (${HELM}): run \`bash scripts/build-helm.sh\` (builds Helm v3.22.0 from the Go module proxy into .bin/helm; .ci/run does it), or set HELM_BIN`);
  }
  // Helm's caches and settings in a scratch folder: nothing of the user's (repositories, plugins) is read.
  helmHome = fs.mkdtempSync(path.join(os.tmpdir(), "helm-test-"));
});

afterAll(() => {
  if (helmHome) fs.rmSync(helmHome, { recursive: true, force: true });
});

function helm(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(HELM, args, {
    encoding: "utf8",
    env: {
      PATH: process.env.PATH,
      HOME: helmHome,
      HELM_CACHE_HOME: path.join(helmHome, "cache"),
      HELM_CONFIG_HOME: path.join(helmHome, "config"),
      HELM_DATA_HOME: path.join(helmHome, "data"),
      // No cluster: a command that tried to reach one would fail at once.
      KUBECONFIG: path.join(helmHome, "no-kubeconfig"),
    },
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template` → the rendered text; fails the test with Helm's message when rendering fails. */
function templateText(...args: string[]): string {
  const r = helm(["template", RELEASE, CHART, "--namespace", "identity", ...args]);
  if (r.status !== 0) throw new Error(`helm template ${args.join(" ")} failed:\n${r.stderr}`);
  return r.stdout;
}

function render(...args: string[]): Manifest[] {
  return YAML.parseAllDocuments(templateText(...args))
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

/** The message of a `helm template` that must fail. */
function templateError(...args: string[]): string {
  const r = helm(["template", RELEASE, CHART, ...args]);
  expect(r.status).not.toBe(0);
  return r.stderr;
}

function one(ms: Manifest[], kind: string, name?: string): Manifest {
  const found = ms.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}: ${ms.map((m) => `${m.kind}/${m.metadata.name}`).join(", ")}`);
  return found[0]!;
}

function podSpec(m: Manifest): PodSpec {
  return (m.spec as { template: { spec: PodSpec } }).template.spec;
}

function container(m: Manifest, name: string): Container {
  const c = podSpec(m).containers.find((x) => x.name === name);
  if (!c) throw new Error(`${m.kind}/${m.metadata.name} has no container ${name}`);
  return c;
}

function envOf(c: Container): Map<string, EnvVar> {
  return new Map((c.env ?? []).map((e) => [e.name, e]));
}

/** Where a secret's value comes from: "<Secret>/<key>", or a failure when it is a literal. */
function secretRef(c: Container, name: string): string {
  const e = envOf(c).get(name);
  if (!e) throw new Error(`${c.name} has no ${name}`);
  expect(e.value).toBeUndefined();
  const ref = e.valueFrom?.secretKeyRef;
  if (!ref) throw new Error(`${c.name}: ${name} is not from a secretKeyRef`);
  return `${ref.name}/${ref.key}`;
}

/** The environment a container would see: its ConfigMaps (envFrom) and env; secrets as fakes of the right shape. */
function resolvedEnv(ms: Manifest[], c: Container): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const from of c.envFrom ?? []) {
    if (from.secretRef) throw new Error(`${c.name}: envFrom a whole Secret`);
    if (from.configMapRef) Object.assign(out, one(ms, "ConfigMap", from.configMapRef.name).data);
  }
  const fakes: Record<string, string> = {
    DATABASE_URL: "postgresql://app:pw@postgres.identity:5432/audience_login",
    SESSION_SECRETS: "s".repeat(64),
    SMTP_URL: "smtps://user:pw@smtp.example.org:465",
  };
  for (const e of c.env ?? []) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) out[e.name] = fakes[e.name] ?? "c".repeat(32);
  }
  return out;
}

/** The settings the app cannot start without (no default in src/config/env.ts). */
function requiredSettings(): string[] {
  try {
    loadEnv({});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.filter((p) => p.endsWith(" is required")).map((p) => p.split(" ")[0]!);
    throw err;
  }
  throw new Error("loadEnv({}) accepted an empty environment");
}

function mebibytes(q: string): number {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`unexpected memory quantity ${q}`);
  return Number(m[1]) * (m[2] === "Gi" ? 1024 : 1);
}

const SECRET_SETTINGS = ["DATABASE_URL", "SESSION_SECRETS", "SMTP_URL"];

describe("helm lint", () => {
  test.each([
    ["default values", [] as string[]],
    ["production-like values", ["-f", PROD]],
  ])("passes --strict with %s", (_label, args) => {
    const r = helm(["lint", "--strict", CHART, ...args]);
    expect(`${r.stdout}${r.stderr}`).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(r.status).toBe(0);
  });
});

describe("helm template with default values", () => {
  let ms: Manifest[];
  let deploy: Manifest;
  let app: Container;
  beforeAll(() => {
    ms = render();
    deploy = one(ms, "Deployment", FULLNAME);
    app = container(deploy, "app");
  });

  test("renders the app's objects and no Secret, no Ingress", () => {
    expect(ms.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual(
      [
        `ConfigMap/${FULLNAME}-audiences`,
        `ConfigMap/${FULLNAME}-env`,
        `Deployment/${FULLNAME}`,
        `HorizontalPodAutoscaler/${FULLNAME}`,
        `Job/${FULLNAME}-migrate`,
        `Job/${FULLNAME}-seed`,
        `PodDisruptionBudget/${FULLNAME}`,
        `Service/${FULLNAME}`,
      ].sort(),
    );
  });

  test("the HorizontalPodAutoscaler (autoscaling/v2) scales the Deployment on CPU between min and max, and owns its replicas", () => {
    const hpa = one(ms, "HorizontalPodAutoscaler");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: FULLNAME },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
    });
    expect(deploy.spec).not.toHaveProperty("replicas");
  });

  test("the PodDisruptionBudget (policy/v1) selects the app's pods", () => {
    const pdb = one(ms, "PodDisruptionBudget");
    expect(pdb.apiVersion).toBe("policy/v1");
    expect(pdb.spec).toMatchObject({ maxUnavailable: 1 });
    const selector = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    const podLabels = (deploy.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
    expect(podLabels).toMatchObject(selector);
    expect((deploy.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels).toEqual(selector);
  });

  test("metrics: METRICS_PORT on all interfaces of the pod, Prometheus's annotations, never in the Service", () => {
    const env = Object.fromEntries((app.env ?? []).filter((e) => "value" in e).map((e) => [e.name, (e as { value: string }).value]));
    expect(env).toMatchObject({ METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0" });
    const annotations = (deploy.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    expect(annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": "9464", "prometheus.io/path": "/metrics" });
    const service = one(ms, "Service");
    expect(JSON.stringify(service)).not.toContain("9464");
  });

  test("the app container runs the compiled server with liveness on /health/alive and readiness on /health/ready", () => {
    expect(app.command).toEqual(["sh", "scripts/start.sh"]);
    expect(app.image).toBe("hydra-audience-login:0.1.0");
    expect(app.ports).toEqual([
      { name: "http", containerPort: 3000, protocol: "TCP" },
      { name: "metrics", containerPort: 9464, protocol: "TCP" },
    ]);
    expect(app.livenessProbe?.httpGet).toEqual({ path: "/health/alive", port: "http" });
    expect(app.readinessProbe?.httpGet).toEqual({ path: "/health/ready", port: "http" });
    expect(app.startupProbe?.httpGet).toEqual({ path: "/health/alive", port: "http" });
  });

  test("resources: requests, and a memory limit within the project's 150–200 MiB target", () => {
    expect(app.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }));
    const limit = mebibytes(app.resources!.limits!.memory!);
    expect(limit).toBeGreaterThanOrEqual(150);
    expect(limit).toBeLessThanOrEqual(200);
    expect(mebibytes(app.resources!.requests!.memory!)).toBeLessThanOrEqual(limit);
  });

  test("every pod runs as a non-root user with a read-only root file system, no capabilities, a writable /tmp", () => {
    for (const m of ms.filter((x) => x.kind === "Deployment" || x.kind === "Job")) {
      const spec = podSpec(m);
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      // The image's user is "node" by name: runAsNonRoot needs a number to check.
      expect(spec.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const c of spec.containers) {
        expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        const tmp = c.volumeMounts?.find((v) => v.mountPath === "/tmp");
        expect(spec.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
        expect(c.resources?.limits?.memory).toBeDefined();
      }
    }
  });

  test("the app gets every required setting, secrets from secretKeyRef, and the resulting environment passes the app's validation", () => {
    const env = resolvedEnv(ms, app);
    for (const name of requiredSettings()) expect(env).toHaveProperty(name);
    for (const name of SECRET_SETTINGS) expect(secretRef(app, name)).toBe(`${FULLNAME}/${name}`);
    for (const name of ["APP_BASE_URL", "HYDRA_ADMIN_URL", "HYDRA_PUBLIC_URL", "HYDRA_PUBLIC_INTERNAL_URL", "TRUST_PROXY_HOPS"]) {
      expect(env).toHaveProperty(name);
    }
    const parsed = loadEnv(env);
    expect(parsed).toMatchObject({
      NODE_ENV: "production",
      HOST: "0.0.0.0",
      PORT: 3000,
      COOKIE_SECURE: true,
      HYDRA_ADMIN_URL: "http://hydra-admin:4445",
      HYDRA_PUBLIC_INTERNAL_URL: "http://hydra-public:4444",
      TRUST_PROXY_HOPS: 0,
    });
  });

  test("the migration Job is a pre-install/pre-upgrade hook running `npx prisma migrate deploy` with DATABASE_URL from the Secret", () => {
    const job = one(ms, "Job", `${FULLNAME}-migrate`);
    expect(job.metadata.annotations).toMatchObject({ "helm.sh/hook": "pre-install,pre-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation" });
    const c = container(job, "migrate");
    expect(c.command).toEqual(["npx", "prisma", "migrate", "deploy"]);
    expect(c.image).toBe(app.image);
    expect(secretRef(c, "DATABASE_URL")).toBe(`${FULLNAME}/DATABASE_URL`);
    // At pre-install the chart's ConfigMaps do not exist yet.
    expect(c.envFrom).toBeUndefined();
    expect(envOf(c).has("SESSION_SECRETS")).toBe(false);
    expect((job.spec as { template: { spec: { restartPolicy: string } } }).template.spec.restartPolicy).toBe("Never");
  });

  test("the seed Job is a post-install/post-upgrade hook with back-off, applying the audiences ConfigMap mounted at /config", () => {
    const job = one(ms, "Job", `${FULLNAME}-seed`);
    expect(job.metadata.annotations).toMatchObject({ "helm.sh/hook": "post-install,post-upgrade" });
    expect((job.spec as { backoffLimit: number }).backoffLimit).toBeGreaterThanOrEqual(3);
    const c = container(job, "seed");
    expect(c.command).toEqual(["node", "dist/prisma/seed.js", "--config", "/config/audiences.yaml"]);
    const mount = c.volumeMounts?.find((v) => v.mountPath === "/config");
    const volume = podSpec(job).volumes?.find((v) => v.name === mount?.name);
    expect(volume?.configMap?.name).toBe(`${FULLNAME}-audiences`);
    expect(one(ms, "ConfigMap", `${FULLNAME}-audiences`).data).toHaveProperty(["audiences.yaml"]);
    // What the seed reads besides its file: the app's own settings (same ConfigMap) and DATABASE_URL.
    const env = resolvedEnv(ms, c);
    expect(env).toMatchObject({ APP_BASE_URL: "https://login.example.com", HYDRA_ADMIN_URL: "http://hydra-admin:4445" });
    expect(secretRef(c, "DATABASE_URL")).toBe(`${FULLNAME}/DATABASE_URL`);
    expect(envOf(c).has("SESSION_SECRETS")).toBe(false);
  });

  test("the default audiences file is valid", () => {
    const text = one(ms, "ConfigMap", `${FULLNAME}-audiences`).data!["audiences.yaml"]!;
    expect(() => parseAppConfig(YAML.parse(text), "audiences.yaml")).not.toThrow();
  });

  test("the Deployment rolls when a plain setting changes (checksum of the env ConfigMap)", () => {
    const checksum = (m: Manifest[]) =>
      (one(m, "Deployment").spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations["checksum/env"];
    expect(checksum(ms)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(render("--set", "env.LOG_LEVEL=debug"))).not.toBe(checksum(ms));
    expect(checksum(render("--set-string", "audiences=audiences: []"))).toBe(checksum(ms));
  });

  test("autoscaling off: the Deployment has replicaCount replicas and there is no HorizontalPodAutoscaler", () => {
    const off = render("--set", "autoscaling.enabled=false", "--set", "replicaCount=4");
    expect(off.some((m) => m.kind === "HorizontalPodAutoscaler")).toBe(false);
    expect(one(off, "Deployment").spec).toMatchObject({ replicas: 4 });
  });
});

describe("helm template with production-like values (deploy/helm/examples/app-production.yaml)", () => {
  let ms: Manifest[];
  let text: string;
  let app: Container;
  let values: {
    replicaCount: number;
    env: Record<string, string>;
    audiences: string;
    secrets: { existingSecret: string; clientSecrets: Record<string, { name: string; key: string }> };
  };
  beforeAll(() => {
    text = templateText("-f", PROD);
    ms = render("-f", PROD);
    app = container(one(ms, "Deployment"), "app");
    values = YAML.parse(fs.readFileSync(PROD, "utf8"));
  });

  test("3 to 10 replicas under the HorizontalPodAutoscaler; replicaCount 3 when autoscaling is off", () => {
    expect(values.replicaCount).toBe(3);
    expect(one(ms, "HorizontalPodAutoscaler").spec).toMatchObject({ minReplicas: 3, maxReplicas: 10 });
    expect(one(render("-f", PROD, "--set", "autoscaling.enabled=false"), "Deployment").spec).toMatchObject({ replicas: 3 });
    expect(one(ms, "PodDisruptionBudget").spec).toMatchObject({ maxUnavailable: 1 });
  });

  test("the Ingress sends the app's host to the Service, with TLS; TRUST_PROXY_HOPS counts the proxies", () => {
    const ingress = one(ms, "Ingress");
    expect(ingress.apiVersion).toBe("networking.k8s.io/v1");
    expect(ingress.spec).toMatchObject({
      ingressClassName: "nginx",
      tls: [{ secretName: "login-example-org-tls", hosts: ["login.example.org"] }],
      rules: [{ host: "login.example.org", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: FULLNAME, port: { name: "http" } } } }] } }],
    });
    expect(one(ms, "Service").spec).toMatchObject({ ports: [{ name: "http", targetPort: "http" }] });
    expect(new URL(values.env.APP_BASE_URL!).host).toBe("login.example.org");
    expect(resolvedEnv(ms, app).TRUST_PROXY_HOPS).toBe("2");
    // Unset, it follows the Ingress: one proxy (the controller), none without it.
    expect(resolvedEnv(render("-f", PROD, "--set", "env.TRUST_PROXY_HOPS=null"), app).TRUST_PROXY_HOPS).toBe("1");
  });

  test("the app reads its secrets from the existing Secret named in the values; client secrets go to the seed Job only", () => {
    for (const name of SECRET_SETTINGS) expect(secretRef(app, name)).toBe(`login-secrets/${name}`);
    expect(envOf(app).has("SHOP_WEB_CLIENT_SECRET")).toBe(false);
    const seed = container(one(ms, "Job", `${FULLNAME}-seed`), "seed");
    expect(secretRef(seed, "SHOP_WEB_CLIENT_SECRET")).toBe("login-client-secrets/shop-web");
    expect(secretRef(seed, "DATABASE_URL")).toBe("login-secrets/DATABASE_URL");
    expect(secretRef(container(one(ms, "Job", `${FULLNAME}-migrate`), "migrate"), "DATABASE_URL")).toBe("login-secrets/DATABASE_URL");
    expect(loadEnv(resolvedEnv(ms, app))).toMatchObject({ APP_BASE_URL: "https://login.example.org", HYDRA_PUBLIC_URL: "https://auth.example.org" });
  });

  test("the audiences ConfigMap holds the values' YAML, valid, and every client secret-env reaches the seed Job from a Secret", () => {
    const text = one(ms, "ConfigMap", `${FULLNAME}-audiences`).data!["audiences.yaml"]!;
    expect(text).toBe(values.audiences);
    const config = parseAppConfig(YAML.parse(text), "audiences.yaml");
    expect(config.audiences.map((a) => a.id)).toEqual(["org.example.shop"]);
    const seed = container(one(ms, "Job", `${FULLNAME}-seed`), "seed");
    const secretEnvs = config.clients.flatMap((c) => (c.secretEnv ? [c.secretEnv] : []));
    expect(secretEnvs).toEqual(["SHOP_WEB_CLIENT_SECRET"]);
    for (const name of secretEnvs) expect(secretRef(seed, name)).toMatch(/^[^/]+\/[^/]+$/);
  });

  test("no Secret is rendered and no container gets a secret as a literal value", () => {
    for (const rendered of [ms, render()]) {
      expect(rendered.filter((m) => m.kind === "Secret")).toEqual([]);
      const secretNames = [...SECRET_SETTINGS, ...Object.keys(values.secrets.clientSecrets)];
      for (const cm of rendered.filter((m) => m.kind === "ConfigMap")) for (const name of secretNames) expect(cm.data ?? {}).not.toHaveProperty(name);
      for (const m of rendered.filter((x) => x.kind === "Deployment" || x.kind === "Job")) {
        for (const c of podSpec(m).containers) {
          for (const e of c.env ?? []) if (secretNames.includes(e.name)) expect(e.valueFrom?.secretKeyRef).toBeDefined();
        }
      }
    }
    // No connection URL with credentials anywhere in the manifests.
    expect(text).not.toMatch(/[a-z]+:\/\/[^\s/"'@]+:[^\s/"'@]+@/);
  });
});

describe("the chart refuses", () => {
  test.each([
    ["DATABASE_URL as a plain setting", ["--set", "env.DATABASE_URL=postgresql://u:p@db/x"], "env.DATABASE_URL is a secret"],
    ["SESSION_SECRETS as a plain setting", ["--set", `env.SESSION_SECRETS=${"s".repeat(32)}`], "env.SESSION_SECRETS is a secret"],
    ["the factor encryption keys as a plain setting", ["--set", `env.FACTOR_ENCRYPTION_KEYS=${"k".repeat(43)}=`], "env.FACTOR_ENCRYPTION_KEYS is a secret"],
    ["a client secret as a plain setting", ["-f", PROD, "--set", "env.SHOP_WEB_CLIENT_SECRET=abc"], "env.SHOP_WEB_CLIENT_SECRET is a secret"],
    ["no Secret key for DATABASE_URL", ["--set", "secrets.env.DATABASE_URL=null"], "secrets.env.DATABASE_URL is required"],
    ["a client whose secret-env has no Secret key", ["-f", PROD, "--set", "secrets.clientSecrets=null"], 'client "shop-web" reads its secret from SHOP_WEB_CLIENT_SECRET: add secrets.clientSecrets.SHOP_WEB_CLIENT_SECRET'],
    ["audiences that are not YAML", ["--set-string", "audiences=[a"], "audiences: not valid YAML"],
    ["no APP_BASE_URL", ["--set", "env.APP_BASE_URL=null"], "env.APP_BASE_URL is required"],
    ["maxReplicas below minReplicas", ["--set", "autoscaling.minReplicas=5", "--set", "autoscaling.maxReplicas=2"], "autoscaling.maxReplicas must be at least autoscaling.minReplicas"],
  ])("%s", (_label, args, message) => {
    expect(templateError(...args)).toContain(message);
  });

  test("but takes SMTP_URL as a plain setting when it is not read from the Secret", () => {
    const ms = render("--set", "secrets.env.SMTP_URL=null", "--set", "env.SMTP_URL=smtp://relay.mail:25");
    const app = container(one(ms, "Deployment"), "app");
    expect(envOf(app).has("SMTP_URL")).toBe(false);
    expect(resolvedEnv(ms, app).SMTP_URL).toBe("smtp://relay.mail:25");
  });
});

describe("NOTES.txt", () => {
  // `helm install --dry-run` wants a cluster; rendered here through a copy of the chart with a template that holds the notes.
  function notes(...args: string[]): string {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "helm-notes-"));
    try {
      fs.cpSync(CHART, copy, { recursive: true });
      fs.copyFileSync(path.join(CHART, "templates", "NOTES.txt"), path.join(copy, "notes.txt"));
      fs.writeFileSync(
        path.join(copy, "templates", "zz-notes.yaml"),
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n',
      );
      const r = helm(["template", RELEASE, copy, "--namespace", "identity", "--show-only", "templates/zz-notes.yaml", ...args]);
      if (r.status !== 0) throw new Error(r.stderr);
      return (YAML.parse(r.stdout) as Manifest).data!.notes!;
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  }

  test("names the Secret keys to create and the URLs Hydra must be given", () => {
    const text = notes("-f", PROD);
    expect(text).toContain("DATABASE_URL ← login-secrets/DATABASE_URL");
    expect(text).toContain("SHOP_WEB_CLIENT_SECRET ← login-client-secrets/shop-web (seed Job only)");
    for (const p of ["login=https://login.example.org/login", "consent=https://login.example.org/consent", "logout=https://login.example.org/logout", "error=https://login.example.org/error", "post_logout_redirect=https://login.example.org/signed-out"]) {
      expect(text).toContain(`urls.${p}`);
    }
    expect(text).toContain("https://login.example.org/");
    expect(text).not.toContain("WARNING");
  });

  test("warns while APP_BASE_URL is the example", () => {
    expect(notes()).toContain("WARNING: env.APP_BASE_URL is still the example");
  });
});

describe("deploy/helm/examples/hydra-values.yaml (for Ory's ory/hydra chart)", () => {
  const hydra = () =>
    YAML.parse(fs.readFileSync(HYDRA_VALUES, "utf8")) as {
      image: { tag: string };
      secret: { enabled: boolean; nameOverride: string };
      hydra: { config: { urls: Record<string, unknown> & { self: { issuer: string } }; ttl: unknown; strategies: unknown; oidc: unknown } };
    };
  const hydraYml = () => YAML.parse(fs.readFileSync(path.join(ROOT, "hydra", "hydra.yml"), "utf8")) as { ttl: unknown; strategies: unknown; oidc: unknown };

  test("sends Hydra's browsers to the app of app-production.yaml, and its issuer is the app's HYDRA_PUBLIC_URL", () => {
    const app = (YAML.parse(fs.readFileSync(PROD, "utf8")) as { env: Record<string, string> }).env;
    const { urls } = hydra().hydra.config;
    expect(urls).toEqual({
      self: { issuer: app.HYDRA_PUBLIC_URL },
      login: `${app.APP_BASE_URL}/login`,
      consent: `${app.APP_BASE_URL}/consent`,
      logout: `${app.APP_BASE_URL}/logout`,
      post_logout_redirect: `${app.APP_BASE_URL}/signed-out`,
      error: `${app.APP_BASE_URL}/error`,
    });
  });

  test("runs Hydra v2.3.0 with hydra/hydra.yml's token settings and its secrets from an existing Secret", () => {
    const v = hydra();
    expect(v.image.tag).toBe("v2.3.0");
    expect(v.secret).toEqual({ enabled: false, nameOverride: "hydra-secrets" });
    const base = hydraYml();
    expect(v.hydra.config.ttl).toEqual(base.ttl);
    expect(v.hydra.config.strategies).toEqual(base.strategies);
    expect(v.hydra.config.oidc).toEqual(base.oidc);
  });
});
