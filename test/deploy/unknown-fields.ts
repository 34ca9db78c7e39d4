/**
 * Fields the Kubernetes API does not know. kubernetes-models' JSON-schema
 * validators accept unknown fields (a typo such as `readinesProbe` passes, and
 * a cluster would refuse it under kubectl's strict field validation, or drop
 * it), so the field names are checked against the same package's TypeScript
 * types, read with the TypeScript compiler's type checker: each object is
 * walked alongside its kind's interface (`IDeployment`, …).
 *
 * @see https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** Kind -> [module, interface] of kubernetes-models. */
export type KindTypes = Record<string, [string, string]>;

/**
 * Returns a checker of `(kind, object) -> unknown field paths` for the kinds in
 * `types` (keys as `${apiVersion}/${kind}`). Builds one TypeScript program.
 */
export function createFieldChecker(types: KindTypes): (key: string, object: unknown) => string[] {
  const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
  const entries = Object.entries(types);
  const virtual = join(root, "test/deploy/__kinds__.ts");
  const text = entries.map(([, [module, name]], i) => `import type { ${name} as T${i} } from "${module}";\nexport declare const v${i}: T${i};`).join("\n");
  const options: ts.CompilerOptions = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, strict: true, skipLibCheck: true, noEmit: true, types: [] };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, ...rest) => (file === virtual ? ts.createSourceFile(file, text, language) : getSourceFile(file, language, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => file === virtual || fileExists(file);
  const program = ts.createProgram([virtual], options, host);
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(virtual)!)!;
  const exported = checker.getExportsOfModule(moduleSymbol);
  const byKey = new Map(entries.map(([key], i) => [key, checker.getTypeOfSymbol(exported.find((s) => s.name === `v${i}`)!)]));

  /** The object types a (possibly optional, possibly union) type allows. */
  const objectParts = (type: ts.Type): ts.Type[] => {
    const nonNull = checker.getNonNullableType(type);
    const parts = nonNull.isUnion() ? nonNull.types : [nonNull];
    return parts.filter((part) => (part.flags & ts.TypeFlags.Object) !== 0);
  };

  function walk(value: unknown, type: ts.Type, path: string, found: string[]): void {
    if (value === null || typeof value !== "object") return;
    const parts = objectParts(type);
    if (parts.length === 0) return;
    if (Array.isArray(value)) {
      const array = parts.find((part) => checker.isArrayType(part));
      if (!array) return void found.push(`${path} (a list where the schema has none)`);
      const element = checker.getTypeArguments(array as ts.TypeReference)[0]!;
      value.forEach((item, i) => walk(item, element, `${path}[${i}]`, found));
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      const property = parts.map((part) => part.getProperty(key)).find(Boolean);
      if (property) {
        walk(child, checker.getTypeOfSymbol(property), `${path}.${key}`, found);
        continue;
      }
      const index = parts.map((part) => checker.getIndexTypeOfType(part, ts.IndexKind.String)).find(Boolean);
      if (index) walk(child, index, `${path}.${key}`, found);
      else found.push(`${path}.${key}`);
    }
  }

  return (key, object) => {
    const type = byKey.get(key);
    if (!type) throw new Error(`no type for ${key}`);
    const found: string[] = [];
    walk(object, type, "", found);
    return found;
  };
}
