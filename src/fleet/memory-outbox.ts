import { DurableOutbox, type OutboxEntry, type OutboxMessage } from '../mqtt/outbox.js';

/**
 * The outbox contract (ordered, forgotten once acknowledged) without the disk: a fleet is a load generator, and a
 * file append plus a counter rewrite per event and per acknowledgement is what limited it (measured: at 3,000
 * devices the event loop spent its time in sync file I/O and connects began to time out). `dir` only has to exist;
 * every in-memory outbox of a fleet can share one.
 */
export class MemoryOutbox extends DurableOutbox {
  private readonly entries = new Map<number, OutboxEntry>();
  private next = 0;
  private watermark = 0;
  private readonly early = new Set<number>();

  override unacknowledged(): OutboxEntry[] {
    return [...this.entries.values()];
  }

  override get depth(): number {
    return this.entries.size;
  }

  override append(message: OutboxMessage): OutboxEntry {
    const entry: OutboxEntry = { n: ++this.next, ...message };
    this.entries.set(entry.n, entry);
    return entry;
  }

  override acknowledge(n: number): void {
    if (!this.entries.has(n)) return;
    this.early.add(n);
    while (this.early.delete(this.watermark + 1)) {
      this.watermark++;
      this.entries.delete(this.watermark);
    }
  }
}
