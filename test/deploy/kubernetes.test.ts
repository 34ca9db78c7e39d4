/**
 * deploy/kubernetes is tested statically (no cluster, kubectl or kustomize
 * here): rendered by test/deploy/kustomize.ts, every object validated against
 * the Kubernetes schemas (kubernetes-models), then checked against the code it
 * deploys: the variables are ones src/config.ts reads and make a valid
 * configuration, the probes ask the real server for paths it answers on the
 * listener they target, ports, selectors and the NetworkPolicy agree, and the
 * grace period outlasts the server's drain.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IContainerPort } from "kubernetes-models/v1/ContainerPort";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CONFIG_VARIABLES, ConfigError, loadConfig } from "../../src/config.js";
import { startEmulator, type Emulator } from "../../src/emulator/index.js";
import { SHUTDOWN_DEADLINE_MS, startServer, type RunningServer } from "../../src/server.js";
import { EXIT_FLUSH_MS } from "../../src/log-destination.js";
import { MAX_SHUTDOWN_FLUSH_MS } from "../../src/tracing/otel-tracing.js";
import { freePort, serverEnv, USER } from "../helpers/harness.js";
import { imageName, parseEnvFile, renderKustomization, type K8sObject } from "./kustomize.js";
import { createFieldChecker } from "./unknown-fields.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const k8s = join(root, "deploy/kubernetes");
const read = (path: string) => readFileSync(join(root, path), "utf8");

/** The git-ignored secret.env is never read here: its committed example stands in for it. */
const render = (dir: string) =>
  renderKustomization(join(k8s, dir), { readFile: (path) => readFileSync(path.endsWith("/secret.env") ? `${path}.example` : path, "utf8") });
const base = render("base");
const trial = render("overlays/redis-trial");

/** The schema of each kind the manifests may use; anything else fails the first test. */
const MODELS: Record<string, { new (data: never): { validate(): void } }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

/** The TypeScript interface of each kind, for the field names (the schemas above accept unknown fields). */
const unknownFields = createFieldChecker({
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "IConfigMap"],
  "v1/Secret": ["kubernetes-models/v1/Secret", "ISecret"],
  "v1/Service": ["kubernetes-models/v1/Service", "IService"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "IDeployment"],
  "apps/v1/StatefulSet": ["kubernetes-models/apps/v1/StatefulSet", "IStatefulSet"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1/NetworkPolicy", "INetworkPolicy"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "IPodDisruptionBudget"],
  "autoscaling/v2/HorizontalPodAutoscaler": ["kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler", "IHorizontalPodAutoscaler"],
});

/**
 * The uid of a user the Dockerfile names, in the image it starts from: the
 * node images create `node` with uid and gid 1000.
 * @see https://github.com/nodejs/docker-node/blob/main/22/bookworm-slim/Dockerfile
 */
const IMAGE_USER_IDS: Record<string, Record<string, number>> = { node: { node: 1000 } };

/** Values that must come from the Secret (README "Configuration": secrets, and REDIS_URL, which may carry a password). */
const SECRET_VARIABLES = ["AUTH_SECRET", "AUTH_SECRET_1", "AUTH_SECRET_2", "AUTH_SECRET_3", "COGNITO_CLIENT_SECRET", "ADMIN_SECRET", "REDIS_URL"];

interface Workload extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    serviceName?: string;
    template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: IPodSpec };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}
interface ServiceObject extends K8sObject {
  spec: { selector: Record<string, string>; ports: { name?: string; port: number; targetPort?: number | string }[]; clusterIP?: string };
}
interface PolicyPeer {
  namespaceSelector?: unknown;
  podSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: unknown;
}
interface NetworkPolicyObject extends K8sObject {
  spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { from?: PolicyPeer[]; ports?: { port: number | string }[] }[] };
}

function find<T extends K8sObject>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind}/${name}`);
  return found as T;
}
const all = <T extends K8sObject>(objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind) as T[];
/** Whether a selector's labels all appear in `labels`. */
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);

const bffOf = (objects: K8sObject[]) => find<Workload>(objects, "Deployment", "cognito-bff");
const containerOf = (workload: Workload): IContainer => workload.spec.template.spec.containers[0]!;
const configMapOf = (objects: K8sObject[]) => find<K8sObject & { data: Record<string, string> }>(objects, "ConfigMap", "cognito-bff").data;
/** A port as a probe, Service or NetworkPolicy names it (number or name), as the container's number. */
function containerPort(container: IContainer, port: number | string | undefined): number {
  const found = (container.ports ?? []).find((p: IContainerPort) => p.name === port || p.containerPort === port);
  if (!found) throw new Error(`${String(port)} is not a port of ${container.name}`);
  return found.containerPort;
}
const exampleSecret = (path: string) => Object.fromEntries(parseEnvFile(read(path), path));
/** The rendered Secret's values, decoded. */
const secretData = (objects: K8sObject[]) =>
  Object.fromEntries(Object.entries(find<K8sObject & { data: Record<string, string> }>(objects, "Secret", "cognito-bff").data).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
const randomSecret = () => randomBytes(32).toString("base64");

describe("rendering deploy/kubernetes", () => {
  it("the base and the redis-trial overlay render to objects that each pass the Kubernetes schema of their kind", () => {
    expect(base.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "ConfigMap/cognito-bff",
      "Deployment/cognito-bff",
      "HorizontalPodAutoscaler/cognito-bff",
      "NetworkPolicy/cognito-bff",
      "PodDisruptionBudget/cognito-bff",
      "Service/cognito-bff",
      "Service/cognito-bff-internal",
    ]);
    for (const object of [...base, ...trial]) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
  });

  it("no object has a field the Kubernetes API does not know (a misspelt field would pass the schemas and be refused by kubectl)", () => {
    const unknown = [...base, ...trial].flatMap((object) => unknownFields(`${object.apiVersion}/${object.kind}`, object).map((path) => `${object.kind}/${object.metadata.name}${path}`));
    expect(unknown).toEqual([]);
    // The checker itself: a misspelt probe and a list where a map belongs are found.
    const deployment = structuredClone(bffOf(base)) as Workload & { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    deployment.spec.template.spec.containers[0]!.readinesProbe = {};
    (deployment.metadata as Record<string, unknown>).labels = [];
    expect(unknownFields("apps/v1/Deployment", deployment)).toEqual([".metadata.labels (a list where the schema has none)", ".spec.template.spec.containers[0].readinesProbe"]);
  });

  it("the renderer refuses kustomization fields and patches it does not implement, instead of ignoring them", () => {
    const dir = mkdtempSync(join(tmpdir(), "kustomize-"));
    try {
      writeFileSync(join(dir, "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  A: b\n");
      writeFileSync(join(dir, "kustomization.yaml"), "kind: Kustomization\nresources: [cm.yaml]\nnamespace: other\n");
      expect(() => renderKustomization(dir)).toThrow(/namespace not supported/);
      writeFileSync(join(dir, "patch.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\nimmutable: [true]\n");
      writeFileSync(join(dir, "kustomization.yaml"), "kind: Kustomization\nresources: [cm.yaml]\npatches:\n  - path: patch.yaml\n");
      expect(() => renderKustomization(dir)).toThrow(/lists and deletions/);
      writeFileSync(join(dir, "kustomization.yaml"), "kind: Kustomization\nsecretGenerator:\n  - name: s\n    literals: [A=1]\n");
      expect(() => renderKustomization(dir)).toThrow(/disableNameSuffixHash/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("configuration in the manifests", () => {
  it("sets only variables that src/config.ts reads, each in one place", () => {
    for (const objects of [base, trial]) {
      const container = containerOf(bffOf(objects));
      const names = [
        ...Object.keys(configMapOf(objects)),
        ...(container.env ?? []).map((e) => e.name),
        ...(objects === trial ? Object.keys(secretData(trial)) : Object.keys(exampleSecret("deploy/kubernetes/base/secret.env.example"))),
      ];
      expect(names.filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
      // envFrom takes the last source's value for a name in both: one place per name says which wins.
      expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    }
    expect(Object.keys(exampleSecret("deploy/kubernetes/overlays/redis-trial/secret.env.example")).filter((n) => !CONFIG_VARIABLES.includes(n))).toEqual([]);
  });

  it("takes the secrets and REDIS_URL from the Secret, never from the ConfigMap, and commits no Secret", () => {
    for (const objects of [base, trial]) {
      expect(Object.keys(configMapOf(objects)).filter((name) => SECRET_VARIABLES.includes(name))).toEqual([]);
      const envFrom = containerOf(bffOf(objects)).envFrom ?? [];
      expect(envFrom.map((source) => source.configMapRef?.name ?? `secret:${source.secretRef?.name}`)).toEqual(["cognito-bff", "secret:cognito-bff"]);
      // A missing Secret keeps the pod from starting rather than starting it without secrets.
      expect(envFrom[1]!.secretRef!.optional).not.toBe(true);
    }
    expect(all(base, "Secret")).toEqual([]);
    expect(Object.keys(exampleSecret("deploy/kubernetes/base/secret.env.example")).sort()).toEqual(["ADMIN_SECRET", "AUTH_SECRET", "COGNITO_CLIENT_SECRET", "REDIS_URL"]);
    for (const path of ["deploy/kubernetes/base/secret.env", "deploy/kubernetes/overlays/redis-trial/secret.env"]) {
      // Throws (exit 1) when git would commit the file.
      expect(execFileSync("git", ["check-ignore", path], { cwd: root, encoding: "utf8" }).trim()).toBe(path);
    }
  });

  it("the base with real secrets is a valid production configuration, and its example secrets stop start-up naming AUTH_SECRET", () => {
    const config = configMapOf(base);
    const example = exampleSecret("deploy/kubernetes/base/secret.env.example");
    const refused = (() => {
      try {
        loadConfig({ ...config, ...example });
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(ConfigError);
    // Only what the Secret must bring is missing: the ConfigMap's placeholders themselves are valid.
    expect((refused as ConfigError).problems).toEqual([expect.stringMatching(/^AUTH_SECRET: is required/), expect.stringMatching(/^SESSION_STORE, REDIS_URL: /)]);

    const loaded = loadConfig({ ...config, ...example, AUTH_SECRET: randomSecret(), REDIS_URL: "rediss://:token@primary.example.cache.amazonaws.com:6379" });
    expect(loaded.nodeEnv).toBe("production");
    expect(loaded.sessionStore).toBe("redis");
    expect(loaded.internal).toEqual({ port: Number(config.INTERNAL_PORT), host: "0.0.0.0" });
    expect(loaded.warnings).toEqual([]);
  });

  it("the redis-trial overlay patches the ConfigMap, keeps the base's other values, and points REDIS_URL at its Redis", () => {
    const patched = configMapOf(trial);
    const patch = parse(read("deploy/kubernetes/overlays/redis-trial/config.yaml")) as { data: Record<string, string> };
    expect(patched).toEqual({ ...configMapOf(base), ...patch.data });
    const config = loadConfig({ ...patched, ...secretData(trial), AUTH_SECRET: randomSecret() });
    expect(config.publicUrl.origin).toBe(patch.data.PUBLIC_URL);
    const redisService = find<ServiceObject>(trial, "Service", "cognito-bff-redis");
    const redisUrl = new URL(config.redisUrl!);
    expect(redisUrl.hostname).toBe(redisService.metadata.name);
    expect(Number(redisUrl.port)).toBe(redisService.spec.ports[0]!.port);
    expect(config.sessionStore).toBe("redis");
  });
});

describe("the Deployment against the code", () => {
  let emu: Emulator | undefined;
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    await emu?.close();
    running = undefined;
    emu = undefined;
  });

  it("listens on the container ports the ConfigMap's PORT and INTERNAL_PORT name, and Prometheus is pointed at the internal one", () => {
    const config = configMapOf(base);
    const deployment = bffOf(base);
    const ports = containerOf(deployment).ports!.map((p) => [p.name, p.containerPort]);
    expect(ports).toEqual([
      ["http", Number(config.PORT)],
      ["internal", Number(config.INTERNAL_PORT)],
    ]);
    expect(deployment.spec.template.metadata.annotations?.["prometheus.io/port"]).toBe(config.INTERNAL_PORT);
  });

  it("each probe asks for a path the real server answers 200 on the listener that owns the probe's port", async () => {
    const config = configMapOf(base);
    const container = containerOf(bffOf(base));
    emu = await startEmulator({ users: [{ ...USER, emailVerified: true }] });
    // Free ports stand in for the ConfigMap's numbers; the probe's port says which listener it reaches.
    const [port, internalPort] = [await freePort(), await freePort()];
    // The ConfigMap's settings, but for the local emulator (http, so not NODE_ENV=production), ports, Redis and log.
    // PUBLIC_URL stays the ConfigMap's: the kubelet's probes come with the pod's address as Host, not that origin.
    running = await startServer(
      {
        ...config,
        ...serverEnv(emu, `http://127.0.0.1:${port}`),
        PUBLIC_URL: config.PUBLIC_URL,
        LOG_LEVEL: "silent",
        INTERNAL_PORT: String(internalPort),
        INTERNAL_HOST: "127.0.0.1",
        REDIS_URL: "redis://127.0.0.1:6379",
        REDIS_KEY_PREFIX: `cognito-bff-test:${randomBytes(6).toString("hex")}:`,
      },
      { host: "127.0.0.1" },
    );
    expect(running.config.sessionStore).toBe(config.SESSION_STORE);
    const listeners: Record<string, string> = { [config.PORT!]: running.address, [config.INTERNAL_PORT!]: running.internalAddress! };
    const probes = { startupProbe: container.startupProbe, livenessProbe: container.livenessProbe, readinessProbe: container.readinessProbe };
    const answers: Record<string, number> = {};
    for (const [kind, probe] of Object.entries(probes)) {
      expect(probe?.httpGet, kind).toBeDefined();
      expect(probe!.httpGet!.scheme ?? "HTTP").toBe("HTTP");
      const listener = listeners[String(containerPort(container, probe!.httpGet!.port))];
      expect(listener, `${kind}'s port is a listener`).toBeDefined();
      // As the kubelet asks: its own User-Agent, no cookie, no Origin.
      answers[kind] = (await fetch(`${listener}${probe!.httpGet!.path}`, { headers: { "user-agent": "kube-probe/1.30", accept: "*/*" } })).status;
    }
    expect(answers).toEqual({ startupProbe: 200, livenessProbe: 200, readinessProbe: 200 });
    expect(container.readinessProbe!.httpGet!.path).toBe("/readyz");
    expect(container.livenessProbe!.httpGet!.path).toBe("/healthz");
    // A readiness probe that waits less than /readyz's 2 s Cognito check would fail a slow but healthy pod.
    expect(container.readinessProbe!.timeoutSeconds).toBeGreaterThan(2);
  });

  it("a stopping pod gets longer than its preStop pause, the server's drain deadline and the last trace export, and the pause needs no binary", () => {
    const pod = bffOf(base).spec.template.spec;
    const preStop = containerOf(bffOf(base)).lifecycle?.preStop;
    expect(preStop?.exec).toBeUndefined();
    expect(preStop?.sleep?.seconds).toBeGreaterThan(0);
    // After the drain: Redis closes, then the last spans are exported (when tracing is on), each within its deadline.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop!.sleep!.seconds + (SHUTDOWN_DEADLINE_MS + MAX_SHUTDOWN_FLUSH_MS + EXIT_FLUSH_MS) / 1000);
  });

  it("runs as the Dockerfile's non-root user, numerically, read-only, without privileges or a service account token", () => {
    const dockerfile = read("Dockerfile");
    const stages = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    const finalImage = imageName(stages.at(-1)!);
    const user = /^USER (\S+)$/m.exec(dockerfile)?.[1];
    const uid = IMAGE_USER_IDS[finalImage]?.[user!];
    expect(uid, `uid of ${user} in ${finalImage}`).toBeDefined();

    const pod = bffOf(base).spec.template.spec;
    const container = containerOf(bffOf(base));
    expect(container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser).toBe(uid);
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect((container.securityContext?.seccompProfile ?? pod.securityContext?.seccompProfile)?.type).toBe("RuntimeDefault");
    expect(pod.automountServiceAccountToken).toBe(false);
    const { requests, limits } = container.resources ?? {};
    for (const resource of ["cpu", "memory"]) {
      expect(requests?.[resource], `requests.${resource}`).toBeDefined();
      expect(limits?.[resource], `limits.${resource}`).toBeDefined();
    }
  });

  it("the overlay's image reaches the Deployment by the name the base uses", () => {
    const baseImage = containerOf(bffOf(base)).image!;
    const overlay = parse(read("deploy/kubernetes/overlays/redis-trial/kustomization.yaml")) as { images: { name: string; newName?: string; newTag?: string }[] };
    const set = overlay.images.find((image) => image.name === imageName(baseImage));
    expect(set).toBeDefined();
    expect(containerOf(bffOf(trial)).image).toBe(`${set!.newName ?? set!.name}:${set!.newTag}`);
    expect(containerOf(bffOf(trial)).image).not.toBe(baseImage);
  });
});

describe("Services, NetworkPolicy, spreading and scaling", () => {
  it("each Service selects the BFF's pods only and targets the port of its listener", () => {
    const config = configMapOf(base);
    const deployment = bffOf(trial);
    const podLabels = deployment.spec.template.metadata.labels;
    const redisLabels = find<Workload>(trial, "StatefulSet", "cognito-bff-redis").spec.template.metadata.labels;
    expect(selects(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    const expected: Record<string, string> = { "cognito-bff": config.PORT!, "cognito-bff-internal": config.INTERNAL_PORT! };
    for (const [name, port] of Object.entries(expected)) {
      const service = find<ServiceObject>(trial, "Service", name);
      expect(selects(service.spec.selector, podLabels), name).toBe(true);
      expect(selects(service.spec.selector, redisLabels), name).toBe(false);
      expect(service.spec.ports.map((p) => containerPort(containerOf(deployment), p.targetPort ?? p.port))).toEqual([Number(port)]);
    }
  });

  it("the NetworkPolicy lets anyone reach the public port and only the cluster's pods reach the internal one", () => {
    const config = configMapOf(base);
    const deployment = bffOf(base);
    const container = containerOf(deployment);
    const policy = find<NetworkPolicyObject>(base, "NetworkPolicy", "cognito-bff");
    expect(selects(policy.spec.podSelector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
    expect(policy.spec.policyTypes).toContain("Ingress");
    const rulesFor = (port: string) => policy.spec.ingress.filter((rule) => (rule.ports ?? []).some((p) => String(containerPort(container, p.port)) === port));
    const publicRules = rulesFor(config.PORT!);
    expect(publicRules.length).toBeGreaterThan(0);
    expect(publicRules.some((rule) => rule.from === undefined)).toBe(true);
    const internalRules = rulesFor(config.INTERNAL_PORT!);
    expect(internalRules.length).toBeGreaterThan(0);
    for (const rule of internalRules) {
      // No `from` (anyone), an empty list (anyone) or an ipBlock (addresses outside the cluster) would open it.
      expect(rule.from?.length).toBeGreaterThan(0);
      for (const peer of rule.from!) {
        expect(peer.ipBlock).toBeUndefined();
        expect(peer.namespaceSelector ?? peer.podSelector).toBeDefined();
      }
    }
    // Every rule opens only container ports, all of them named: a rule without ports would open every port.
    for (const rule of policy.spec.ingress) expect(rule.ports?.length).toBeGreaterThan(0);
  });

  it("runs at least two replicas, spread over nodes and zones, with a PodDisruptionBudget and a CPU autoscaler starting at the same count", () => {
    const deployment = bffOf(base);
    const labels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    const spread = deployment.spec.template.spec.topologySpreadConstraints ?? [];
    expect(spread.map((c) => c.topologyKey).sort()).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
    for (const constraint of spread) expect(selects(constraint.labelSelector!.matchLabels!, labels), constraint.topologyKey).toBe(true);

    const pdb = find<K8sObject & { spec: { maxUnavailable?: number; minAvailable?: number; selector: { matchLabels: Record<string, string> } } }>(base, "PodDisruptionBudget", "cognito-bff");
    expect(selects(pdb.spec.selector.matchLabels, labels)).toBe(true);
    expect(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable === 1).toBe(true);

    const hpa = find<K8sObject & { spec: { scaleTargetRef: Record<string, string>; minReplicas: number; maxReplicas: number; metrics: { type: string; resource?: { name: string; target: { type: string } } }[] } }>(
      base,
      "HorizontalPodAutoscaler",
      "cognito-bff",
    );
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: deployment.apiVersion, kind: "Deployment", name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.minReplicas).toBe(deployment.spec.replicas);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(hpa.spec.metrics).toContainEqual(expect.objectContaining({ type: "Resource", resource: expect.objectContaining({ name: "cpu", target: expect.objectContaining({ type: "Utilization" }) }) }));
  });
});

describe("the redis-trial overlay's Redis", () => {
  let server: ChildProcess | undefined;
  let client: Redis | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    client?.disconnect();
    await stopRedis();
    if (dir) rmSync(dir, { recursive: true, force: true });
    client = undefined;
    dir = undefined;
  });

  const statefulSet = () => find<Workload>(trial, "StatefulSet", "cognito-bff-redis");

  /** redis-server with the manifest's arguments, on a port and in a folder of the test's. */
  async function startRedis(args: string[], port: number, folder: string): Promise<Redis> {
    const options = [...args.slice(1)];
    options[options.indexOf("--dir") + 1] = folder;
    server = spawn(args[0]!, [...options, "--port", String(port), "--bind", "127.0.0.1"], { stdio: "ignore" });
    const redis = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on("error", () => {});
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await redis.connect();
        return redis;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** SIGTERM, as the kubelet stops the pod: Redis flushes its append-only file and exits. */
  async function stopRedis(): Promise<void> {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once("exit", () => resolve());
      running.kill("SIGTERM");
    });
  }

  it("keeps its append-only file on the volume claim, behind its own Service, reachable from the BFF's pods only", () => {
    const set = statefulSet();
    const container = containerOf(set);
    const args = container.args!;
    expect(args[args.indexOf("--appendonly") + 1]).toBe("yes");
    const mountDir = args[args.indexOf("--dir") + 1];
    const mount = container.volumeMounts?.find((m) => m.mountPath === mountDir);
    expect(mount).toBeDefined();
    expect(set.spec.volumeClaimTemplates?.map((t) => t.metadata.name)).toContain(mount!.name);

    const service = find<ServiceObject>(trial, "Service", set.spec.serviceName!);
    expect(selects(service.spec.selector, set.spec.template.metadata.labels)).toBe(true);
    expect(containerPort(container, service.spec.ports[0]!.targetPort)).toBe(service.spec.ports[0]!.port);

    const policy = find<NetworkPolicyObject>(trial, "NetworkPolicy", "cognito-bff-redis");
    expect(selects(policy.spec.podSelector.matchLabels, set.spec.template.metadata.labels)).toBe(true);
    const peers = policy.spec.ingress.flatMap((rule) => rule.from ?? [{}]);
    expect(peers.length).toBeGreaterThan(0);
    for (const peer of peers) expect(selects(peer.podSelector?.matchLabels ?? {}, bffOf(trial).spec.template.metadata.labels)).toBe(true);
  });

  it("a real redis-server started with the StatefulSet's arguments keeps a key through a restart", async () => {
    const args = containerOf(statefulSet()).args!;
    expect(args[0]).toBe("redis-server");
    const port = await freePort();
    dir = mkdtempSync(join(tmpdir(), "cognito-bff-k8s-redis-"));
    client = await startRedis(args, port, dir);
    expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
    await client.set("k8s-trial", "kept");
    client.disconnect();
    await stopRedis();
    client = await startRedis(args, port, dir);
    expect(await client.get("k8s-trial")).toBe("kept");
  });
});

describe("what the README says about deploy/kubernetes", () => {
  it("names only paths that exist, and the kubectl command for the trial overlay", () => {
    const readme = read("README.md");
    const paths = [...readme.matchAll(/deploy\/kubernetes\/[\w./-]*[\w-]/g)].map((m) => m[0]);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of new Set(paths)) {
      const example = path.endsWith("/secret.env") ? `${path}.example` : path;
      expect(existsSync(join(root, example)), path).toBe(true);
    }
    expect(readme).toContain("kubectl apply -k deploy/kubernetes/overlays/redis-trial");
  });
});
