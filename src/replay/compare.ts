export interface TapeDiff {
  equal: boolean;
  /** 1-based line number of the first divergence. */
  line?: number;
  /** Lines that differ in all (by position). */
  differing: number;
  /** A readable report: context, the first divergence, the fields that changed. Empty when equal. */
  report: string;
}

const CONTEXT = 3;
const SHOWN = 4;
const MAX_LINE = 240;

/** Compares a golden tape with a new one: the first divergence with context, and which fields changed in it. */
export function compareTapes(
  expected: string,
  actual: string,
  names = { expected: 'golden', actual: 'replay' },
): TapeDiff {
  if (expected === actual) return { equal: true, differing: 0, report: '' };
  const a = splitLines(expected);
  const b = splitLines(actual);
  const versions = { expected: tapeVersionOf(a[0]), actual: tapeVersionOf(b[0]) };
  if (versions.expected !== versions.actual) {
    const report =
      `the ${names.expected} tape is format ${versions.expected ?? '(none)'}, this replay writes format ${versions.actual ?? '(none)'}: ` +
      're-record it with --update (docs/replay.md, "The tape")';
    return { equal: false, differing: Math.max(a.length, b.length), report };
  }
  let first = 0;
  while (first < a.length && first < b.length && a[first] === b[first]) first++;
  let differing = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) differing++;
  const out: string[] = [];
  out.push(
    `tapes differ at line ${first + 1} (${differing} of ${Math.max(a.length, b.length)} lines differ; ${names.expected} has ${a.length}, ${names.actual} has ${b.length})`,
  );
  for (let i = Math.max(0, first - CONTEXT); i < first; i++) out.push(`  ${pad(i + 1)}   ${clip(a[i]!)}`);
  for (let i = first; i < Math.min(a.length, first + SHOWN); i++)
    out.push(`- ${pad(i + 1)}   ${clip(a[i]!)}`);
  for (let i = first; i < Math.min(b.length, first + SHOWN); i++)
    out.push(`+ ${pad(i + 1)}   ${clip(b[i]!)}`);
  const fields = fieldChanges(a[first], b[first]);
  if (fields.length > 0) {
    out.push(`  changed in line ${first + 1}:`);
    for (const change of fields.slice(0, 8)) out.push(`    ${change}`);
    if (fields.length > 8) out.push(`    … and ${fields.length - 8} more`);
  }
  out.push(`  (- ${names.expected}, + ${names.actual})`);
  return { equal: false, line: first + 1, differing, report: out.join('\n') };
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function pad(n: number): string {
  return String(n).padStart(4);
}

function clip(line: string): string {
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE - 1)}…` : line;
}

/** "payload.score: 0.71 → 0.69" for each leaf that differs, when both lines are JSON. */
export function fieldChanges(expected: string | undefined, actual: string | undefined): string[] {
  if (expected === undefined || actual === undefined) return [];
  let a: unknown;
  let b: unknown;
  try {
    a = JSON.parse(expected);
    b = JSON.parse(actual);
  } catch {
    return [];
  }
  const changes: string[] = [];
  walk(a, b, '', changes);
  return changes;
}

function walk(a: unknown, b: unknown, path: string, changes: string[]): void {
  if (isContainer(a) && isContainer(b) && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      walk(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        path ? `${path}.${key}` : key,
        changes,
      );
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    changes.push(`${path || '(line)'}: ${show(a)} → ${show(b)}`);
  }
}

function isContainer(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** The format version a tape's header line states, if it has one. */
function tapeVersionOf(header: string | undefined): unknown {
  try {
    const parsed = JSON.parse(header ?? '') as { tape?: unknown } | null;
    return parsed && typeof parsed === 'object' ? parsed.tape : undefined;
  } catch {
    return undefined;
  }
}
