import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const WIDTH = 20;

/**
 * A monotonic counter kept in a small file, so event sequence numbers survive restarts.
 * Each change is one synchronous write of a fixed-width record at offset 0 (a kill -9 right after next() returns
 * keeps the value): no temp file and rename per event, which cost several times more on the publish path. A write
 * this small never straddles a disk sector, so it cannot tear.
 */
export class PersistentCounter {
  private value: number;
  private fd: number | undefined;

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

  /**
   * Takes back numbers given out after `lastUsed` that nobody saw (the outbox never got their events): so a kill -9
   * between taking a seq and writing its event leaves no gap.
   */
  giveBackAfter(lastUsed: number): void {
    if (lastUsed < this.value) this.store(lastUsed);
  }

  next(): number {
    this.store(this.value + 1);
    return this.value;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private store(value: number): void {
    if (this.fd === undefined) {
      closeSync(openSync(this.path, 'a'));
      this.fd = openSync(this.path, 'r+');
    }
    writeSync(this.fd, `${String(value).padStart(WIDTH, ' ')}\n`, 0);
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
