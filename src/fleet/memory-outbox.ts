import type { Outbox, OutboxEntry, OutboxMessage } from '../mqtt/outbox.js';

/**
 * The outbox contract (ordered, forgotten once acknowledged) without the disk: a fleet is a load generator, and a
 * file append plus a counter rewrite per event and per acknowledgement is what limited it (measured: at 3,000
 * devices the event loop spent its time in sync file I/O and connects began to time out).
 */
export class MemoryOutbox implements Outbox {
  private readonly entries = new Map<number, OutboxEntry>();
  private next = 0;
  private watermark = 0;
  private readonly early = new Set<number>();

  unacknowledged(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  get depth(): number {
    return this.entries.size;
  }

  append(message: OutboxMessage): OutboxEntry {
    const entry: OutboxEntry = { n: ++this.next, ...message };
    this.entries.set(entry.n, entry);
    return entry;
  }

  acknowledge(n: number): void {
    if (!this.entries.has(n)) return;
    this.early.add(n);
    while (this.early.delete(this.watermark + 1)) {
      this.watermark++;
      this.entries.delete(this.watermark);
    }
  }
}
