import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** apiVersion/kind → the kubernetes-models module of that resource. */
const MODELS: Record<string, string> = {
  'batch/v1/Job': 'kubernetes-models/batch/v1/Job',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'v1/PersistentVolumeClaim': 'kubernetes-models/v1/PersistentVolumeClaim',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
};

interface Shape {
  fields: Map<string, string>;
  imports: Map<string, string>;
  file: string;
}

const shapes = new Map<string, Shape>();

/** The properties of the interface a kubernetes-models .d.ts declares, and where its field types come from. */
function shapeOf(file: string): Shape {
  let shape = shapes.get(file);
  if (shape) return shape;
  const text = readFileSync(file, 'utf8');
  const imports = new Map<string, string>();
  for (const match of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
    const [, name, from] = match as unknown as [string, string, string];
    const target = from.startsWith('.')
      ? join(dirname(file), `${from}.d.ts`)
      : require.resolve(from).replace(/\.js$/, '.d.ts');
    imports.set(name, target);
  }
  const body = /^export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)^\}/m.exec(text)?.[1] ?? '';
  const fields = new Map<string, string>();
  for (const match of body.matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) fields.set(match[1]!, match[2]!);
  shape = { fields, imports, file };
  shapes.set(file, shape);
  return shape;
}

/** Fields the Kubernetes API does not know (kubeconform -strict): a typo there is silently dropped by the API server. */
function unknownFields(value: unknown, file: string, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  const shape = shapeOf(file);
  for (const [key, child] of Object.entries(value)) {
    const type = shape.fields.get(key);
    if (type === undefined) {
      out.push(`${path}.${key}: unknown field (${file.split('node_modules/')[1]})`);
      continue;
    }
    const element = /^Array<(\w+)>$/.exec(type)?.[1];
    const target = shape.imports.get(element ?? type);
    if (!target) continue;
    if (element && Array.isArray(child)) {
      child.forEach((item, i) => {
        unknownFields(item, target, `${path}.${key}[${i}]`, out);
      });
    } else unknownFields(child, target, `${path}.${key}`, out);
  }
}

/**
 * Problems of one manifest against the Kubernetes API schemas bundled by kubernetes-models (generated from the
 * OpenAPI spec: types, formats, enums, required fields), plus unknown fields, as kubeconform -strict reports them.
 */
export function k8sProblems(doc: { apiVersion?: unknown; kind?: unknown }, where: string): string[] {
  const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
  const module = MODELS[key];
  if (!module) return [`${where}: no schema here for ${key}`];
  const problems: string[] = [];
  const Model = (require(module) as Record<string, new (data: unknown) => { validate(): void }>)[
    String(doc.kind)
  ]!;
  try {
    new Model(doc).validate();
  } catch (error) {
    problems.push(`${where}: ${(error as Error).message}`);
  }
  unknownFields(doc, require.resolve(module).replace(/\.js$/, '.d.ts'), where, problems);
  return problems;
}
