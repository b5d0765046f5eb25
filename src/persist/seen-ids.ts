import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { removeStaleTempsSync, writeFileAtomicSync } from './durable-write.js';

/**
 * Ids already acted on, kept in a file so an at-least-once source (the upload queue after a crash) does
 * not make us act twice. Keeps the most recent `limit` ids: appends one line per id and, past twice the limit,
 * compacts the file atomically (a crash mid-compaction keeps the old file, never half of the new one).
 */
export class SeenIds {
  private readonly ids: string[];
  private readonly set: Set<string>;

  constructor(
    private readonly path: string,
    private readonly limit = 10_000,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    removeStaleTempsSync(path);
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // first run
    }
    this.ids = text.split('\n').filter(Boolean).slice(-limit);
    this.set = new Set(this.ids);
  }

  has(id: string): boolean {
    return this.set.has(id);
  }

  add(id: string): void {
    if (this.set.has(id)) return;
    this.set.add(id);
    this.ids.push(id);
    appendFileSync(this.path, `${id}\n`);
    if (this.ids.length > this.limit * 2) {
      const keep = this.ids.splice(0, this.ids.length - this.limit);
      for (const old of keep) this.set.delete(old);
      writeFileAtomicSync(this.path, `${this.ids.join('\n')}\n`);
    }
  }
}
