/**
 * Kubernetes manifests checked offline against the API's schemas, two ways:
 * - `kubernetes-models` (its validators are compiled from the Kubernetes OpenAPI schemas): types,
 *   required fields, enums, formats — what the API server's schema check refuses;
 * - unknown fields (a typo such as `readinesProbe`, which the schemas above let through and an API server
 *   with strict field validation refuses): the TypeScript compiler's excess-property check of each object
 *   against the same package's typed interface (`IDeployment`, …), which reaches every nested level.
 */
import path from "node:path";
import ts from "typescript";
import { ROOT } from "./aggregator.js";

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

/** `kubernetes-models/<apiVersion>/<Kind>`: core objects are `v1/ConfigMap`, others `apps/v1/Deployment`. */
const modelPath = (apiVersion: string, kind: string) => `kubernetes-models/${apiVersion}/${kind}`;

/** The schema errors of one object, or [] when it is valid; an unknown apiVersion/kind is an error. */
export async function schemaErrors(object: { apiVersion?: unknown; kind?: unknown }): Promise<string[]> {
  if (typeof object.apiVersion !== "string" || typeof object.kind !== "string")
    return ["apiVersion and kind must be strings"];
  let model: ModelClass | undefined;
  try {
    const mod = (await import(modelPath(object.apiVersion, object.kind))) as Record<string, unknown>;
    model = mod[object.kind] as ModelClass | undefined;
  } catch {
    model = undefined;
  }
  if (!model) return [`unknown apiVersion/kind ${object.apiVersion} ${object.kind}`];
  try {
    new model(object).validate();
    return [];
  } catch (error) {
    return [error instanceof Error ? error.message : String(error)];
  }
}

/**
 * Unknown-field errors of each object (keyed by the caller's label), from one TypeScript program that
 * assigns each object, as a literal, to its kind's interface. Types are checked too, so the messages
 * overlap schemaErrors' for wrong types; unknown fields are what only this finds.
 */
export function strictFieldErrors(
  objects: readonly { label: string; object: { apiVersion: string; kind: string } }[],
): Record<string, string[]> {
  const file = path.join(ROOT, "test", "__k8s_manifests_check__.ts");
  const lines: string[] = [];
  const starts: { label: string; line: number }[] = [];
  objects.forEach(({ object }, i) => {
    lines.push(
      `import type { I${object.kind} as T${i} } from "${modelPath(object.apiVersion, object.kind)}";`,
    );
  });
  objects.forEach(({ label, object }, i) => {
    starts.push({ label, line: lines.length });
    // One space per nesting level: pathAt reads the key chain back from the indentation.
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(object, null, 1)};`);
  });
  const source = lines.join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === file
      ? ts.createSourceFile(name, source, languageVersion, true)
      : getSourceFile.call(host, name, languageVersion, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  const out: Record<string, string[]> = Object.fromEntries(objects.map((o) => [o.label, []]));
  const sourceLines = source.split("\n");
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
    // A diagnostic outside our file (e.g. a missing module) is a failure of the check itself.
    if (d.file?.fileName !== file || d.start === undefined) throw new Error(`k8s strict check: ${text}`);
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const owner = [...starts].reverse().find((s) => s.line <= line);
    if (!owner) throw new Error(`k8s strict check: ${text}`);
    out[owner.label]?.push(`${pathAt(sourceLines, line)}: ${text}`);
  }
  return out;
}

/** The chain of keys leading to a line of the generated source ("spec.template.spec.containers"). */
function pathAt(lines: readonly string[], at: number): string {
  const keys: string[] = [];
  let depth = Infinity;
  for (let i = at; i >= 0; i--) {
    const m = /^( *)"([^"]+)":/.exec(lines[i] ?? "");
    if (!m) continue;
    const indent = m[1]?.length ?? 0;
    if (indent >= depth) continue;
    keys.unshift(m[2] ?? "");
    depth = indent;
    if (indent <= 1) break;
  }
  return keys.join(".");
}
