import { basename, dirname, join } from 'node:path';

/** The golden tape that belongs to a scenario file: next to it, <name>.tape.jsonl. */
export function goldenPathFor(scenarioPath: string): string {
  return join(dirname(scenarioPath), `${basename(scenarioPath, '.json')}.tape.jsonl`);
}
