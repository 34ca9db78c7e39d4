/**
 * A small kustomize renderer for deploy/kubernetes, written by hand because no
 * kustomize or kubectl binary is on this machine (and nothing may be
 * installed). It renders what `kubectl apply -k <dir>` would send, with the
 * subset of kustomize those files use: `resources` (files and directories),
 * `patches` (strategic merge patches of maps only: a list in a patch would
 * need Kubernetes' merge keys), `images`, and `secretGenerator` with
 * `generatorOptions.disableNameSuffixHash` (no hash suffix, hence no name
 * references to rewrite). Any other field throws, so the overlays cannot grow
 * a feature this renderer would silently ignore.
 *
 * @see https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/
 * @see https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/images/
 * @see https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/secretgenerator/
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";

/** A Kubernetes object as rendered (plain JSON). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  patches?: { path: string }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  secretGenerator?: { name: string; envs?: string[]; literals?: string[]; type?: string }[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
}

const SUPPORTED_FIELDS = new Set(["apiVersion", "kind", "resources", "patches", "images", "secretGenerator", "generatorOptions"]);

export interface RenderOptions {
  /** Reads a file a kustomization names (env files of generators); default: the file itself. */
  readFile?: (path: string) => string;
}

/** Renders the kustomization in `dir` (its `kustomization.yaml`) into the objects it produces, in order. */
export function renderKustomization(dir: string, options: RenderOptions = {}): K8sObject[] {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const kustomization = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Kustomization;
  const unsupported = Object.keys(kustomization).filter((field) => !SUPPORTED_FIELDS.has(field));
  if (unsupported.length > 0) throw new Error(`${dir}/kustomization.yaml: ${unsupported.join(", ")} not supported by this renderer`);
  if (kustomization.kind !== "Kustomization") throw new Error(`${dir}/kustomization.yaml: kind must be Kustomization`);

  const objects: K8sObject[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path, options));
    else objects.push(...readObjects(path));
  }
  objects.push(...generateSecrets(dir, kustomization, readFile));
  for (const { path } of kustomization.patches ?? []) {
    for (const patch of readObjects(join(dir, path))) {
      const target = objects.find((o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (!target) throw new Error(`${path}: no ${patch.kind} ${patch.metadata.name} to patch`);
      mergeMaps(target, patch, `${path}: ${patch.kind}/${patch.metadata.name}`);
    }
  }
  for (const image of kustomization.images ?? []) setImage(objects, image);
  const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new Error(`${dir}: ${duplicate} is defined twice`);
  return objects;
}

function readObjects(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, "utf8")).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]!.message}`);
    return doc.toJSON() as K8sObject;
  });
}

/** `KEY=value` lines; `#` comments and blank lines skipped (kustomize's and kubectl's env-file format). */
export function parseEnvFile(text: string, source: string): [string, string][] {
  const entries: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(`${source}: "${line.slice(0, 20)}…" is not KEY=value`);
    entries.push([line.slice(0, at).trim(), line.slice(at + 1)]);
  }
  return entries;
}

function generateSecrets(dir: string, kustomization: Kustomization, readFile: (path: string) => string): K8sObject[] {
  const generators = kustomization.secretGenerator ?? [];
  if (generators.length > 0 && kustomization.generatorOptions?.disableNameSuffixHash !== true) {
    throw new Error(`${dir}: generators need generatorOptions.disableNameSuffixHash: true here (no hash suffixes, no name references to rewrite)`);
  }
  return generators.map((generator) => {
    const entries = [
      ...(generator.envs ?? []).flatMap((file) => parseEnvFile(readFile(join(dir, file)), file)),
      ...(generator.literals ?? []).map((literal) => parseEnvFile(literal, `literal of ${generator.name}`)[0]!),
    ];
    const keys = entries.map(([key]) => key);
    const repeated = keys.find((key, i) => keys.indexOf(key) !== i);
    // kustomize refuses a key given twice rather than pick one.
    if (repeated) throw new Error(`${dir}: secretGenerator ${generator.name}: ${repeated} is given twice`);
    return {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: generator.name },
      type: generator.type ?? "Opaque",
      data: Object.fromEntries(entries.map(([key, value]) => [key, Buffer.from(value).toString("base64")])),
    };
  });
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A strategic merge patch restricted to maps: keys are merged recursively, scalars replaced. */
function mergeMaps(target: Record<string, unknown>, patch: Record<string, unknown>, where: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (Array.isArray(value) || value === null) throw new Error(`${where}: ${key}: lists and deletions need kustomize's strategic merge, not this renderer`);
    if (isMap(value)) {
      const existing = target[key];
      if (existing !== undefined && !isMap(existing)) throw new Error(`${where}: ${key} is not a map in the target`);
      if (existing === undefined) target[key] = {};
      mergeMaps(target[key] as Record<string, unknown>, value, where);
    } else target[key] = value;
  }
}

/** An image reference's name: without `@digest` and without a `:tag` after the last `/`. */
export function imageName(reference: string): string {
  const withoutDigest = reference.split("@")[0]!;
  const colon = withoutDigest.lastIndexOf(":");
  return colon > withoutDigest.lastIndexOf("/") ? withoutDigest.slice(0, colon) : withoutDigest;
}

/** kustomize's `images`: every container whose image has this name gets the new name, tag or digest. */
function setImage(objects: K8sObject[], image: NonNullable<Kustomization["images"]>[number]): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isMap(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === "containers" || key === "initContainers") && Array.isArray(value)) {
        for (const container of value as { image?: string }[]) {
          if (!container.image || imageName(container.image) !== image.name) continue;
          const tag = /:([^:/]+)$/.exec(container.image.split("@")[0]!)?.[1];
          const name = image.newName ?? image.name;
          container.image = image.digest ? `${name}@${image.digest}` : `${name}${image.newTag ? `:${image.newTag}` : tag ? `:${tag}` : ""}`;
        }
      } else visit(value);
    }
  };
  visit(objects);
}
