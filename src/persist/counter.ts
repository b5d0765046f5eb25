import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InPlaceRecord } from './durable-write.js';

const WIDTH = 20;

/**
 * A monotonic counter kept in a small file, so event sequence numbers survive restarts. Each change is written
 * before next() returns (an InPlaceRecord: the per-event path cannot afford a temp file and fsync).
 */
export class PersistentCounter {
  private value: number;
  private readonly record: InPlaceRecord;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.value = readCounter(path);
    this.record = new InPlaceRecord(path, WIDTH);
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

  /** Writes the record now, so its block exists: later in-place updates then need no free space (a full disk). */
  allocate(): void {
    this.store(this.value);
  }

  close(): void {
    this.record.close();
  }

  private store(value: number): void {
    this.record.write(String(value));
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
