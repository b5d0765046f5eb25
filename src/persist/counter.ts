import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A monotonic counter kept in a small file, so event sequence numbers survive restarts.
 * Writes are synchronous (write temp + rename): a kill -9 right after next() returns keeps the value.
 */
export class PersistentCounter {
  private value: number;

  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.value = readCounter(path);
  }

  current(): number {
    return this.value;
  }

  /** Never goes backwards: used when an outbox on disk already holds higher numbers. */
  atLeast(value: number): void {
    if (value > this.value) this.store(value);
  }

  next(): number {
    this.store(this.value + 1);
    return this.value;
  }

  private store(value: number): void {
    const temp = `${this.path}.tmp`;
    writeFileSync(temp, `${value}\n`);
    renameSync(temp, this.path);
    this.value = value;
  }
}

function readCounter(path: string): number {
  try {
    const value = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isSafeInteger(value) && value >= 0 ? value : 0;
  } catch {
    return 0;
  }
}
