import {
  appendFileSync,
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { PersistentCounter } from '../persist/counter.js';
import { isStorageUnavailable } from '../persist/fs-errors.js';

export interface OutboxMessage {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

export interface OutboxEntry extends OutboxMessage {
  n: number;
}

const COMPACT_AFTER_BYTES = 1024 * 1024;

/** Ordered messages that are forgotten only once the broker acknowledged them (and everything before). */
export interface Outbox {
  unacknowledged(): OutboxEntry[];
  readonly depth: number;
  append(message: OutboxMessage): OutboxEntry;
  acknowledge(n: number): void;
}

/**
 * The outbox contract in memory: ordered, forgotten once acknowledged (and everything before). The fleet, a load
 * generator, uses it as is: per-event file I/O is what limited it (docs/measurements.md).
 */
export class MemoryOutbox implements Outbox {
  protected readonly pending = new Map<number, OutboxEntry>();
  private readonly ackedOutOfOrder = new Set<number>();
  protected lastN = 0;
  protected watermark = 0;

  /** Messages still waiting for an acknowledgement, oldest first. */
  unacknowledged(): OutboxEntry[] {
    return [...this.pending.values()];
  }

  get depth(): number {
    return this.pending.size;
  }

  append(message: OutboxMessage): OutboxEntry {
    return this.admit({ n: this.lastN + 1, ...message });
  }

  acknowledge(n: number): void {
    if (!this.pending.has(n)) return;
    this.ackedOutOfOrder.add(n);
    while (this.ackedOutOfOrder.delete(this.watermark + 1)) {
      this.watermark++;
      this.pending.delete(this.watermark);
    }
  }

  protected admit(entry: OutboxEntry): OutboxEntry {
    this.lastN = entry.n;
    this.pending.set(entry.n, entry);
    return entry;
  }
}

/** Events kept in memory while the disk refuses them (~300 bytes each): a few MB at most. */
const DEFAULT_MAX_HELD = 10_000;

export interface DurableOutboxOptions {
  /** Bound of the memory queue used while the disk is full or read-only (default 10,000 events). */
  maxHeldInMemory?: number;
  /** The disk refused an append (full, read-only): the events stay in memory until persistHeld() succeeds. */
  onStorageError?: (error: unknown, path: string) => void;
}

/** The disk refuses events and the memory queue is full: the event was not created (no seq taken for it). */
export class OutboxFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutboxFullError';
  }
}

/**
 * The durable, ordered outbox for events: a message is appended to disk before it is handed to the
 * MQTT client and forgotten only once the broker acknowledged it (and everything before it).
 * mqtt.js keeps its own queue in memory only, so this is what survives a crash or restart.
 */
export class DurableOutbox extends MemoryOutbox {
  private readonly file: string;
  private readonly acked: PersistentCounter;
  /**
   * The highest seq of an event the broker acknowledged while the disk refused it (it went out from memory). Written
   * in place, which a full disk still allows; a restart must not give that seq to another event.
   */
  private readonly deliveredFromMemory: PersistentCounter;
  private persistScheduled = false;
  /** Size of the outbox file, kept here rather than asked of the file system on every ack. */
  private appendedBytes = 0;

  private held: OutboxEntry[] = [];
  /**
   * The highest event seq in the file when it was loaded (0 when nothing was ever appended; undefined when entries
   * were but no event is left, as an older version's compaction left it): a seq the counter gave out after it never
   * reached the broker (a kill -9 between the two writes).
   */
  lastEventSeq: number | undefined;
  /** Clips whose outcome (events/clip, stored or lost) the file holds: a restart must not announce them again. */
  private readonly clipOutcomes = new Set<string>();
  /** The newest event appended: compaction keeps it, so the file still tells the last seq that reached it. */
  private lastEventEntry: OutboxEntry | undefined;
  private readonly maxHeld: number;
  private tornTail = false;

  constructor(
    dir: string,
    private readonly options: DurableOutboxOptions = {},
  ) {
    super();
    this.maxHeld = options.maxHeldInMemory ?? DEFAULT_MAX_HELD;
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'outbox.jsonl');
    this.acked = new PersistentCounter(join(dir, 'outbox.acked'));
    this.deliveredFromMemory = new PersistentCounter(join(dir, 'outbox.delivered-from-memory'));
    this.deliveredFromMemory.allocate();
    this.load();
  }

  /**
   * Whether a previous run put this clip's outcome in the outbox: a crash between announcing it and recording
   * that it was announced must not make the clip announced twice.
   */
  announcedBeforeRestart(clipId: string): boolean {
    return this.clipOutcomes.has(clipId);
  }

  /** Events held in memory only because the disk refused them; written as soon as it takes them again. */
  get heldInMemory(): number {
    return this.held.length;
  }

  /** Whether one more event can be kept (on disk, or in the bounded memory queue while the disk refuses). */
  get hasRoom(): boolean {
    return this.held.length < this.maxHeld;
  }

  override append(message: OutboxMessage): OutboxEntry {
    if (!this.hasRoom) {
      throw new OutboxFullError(
        `disk full: ${this.file} cannot take events and ${this.held.length} are already held in memory`,
      );
    }
    const entry = this.admit({ n: this.lastN + 1, ...message });
    if (eventSeqOf(entry) !== undefined) this.lastEventEntry = entry;
    this.held.push(entry);
    this.persistHeld();
    return entry;
  }

  /**
   * Writes the events held in memory, in order. A disk that is full or read-only leaves them held (still sent to the
   * broker from memory) and is reported; false while any remain.
   */
  persistHeld(): boolean {
    if (this.held.length === 0) return true;
    const lines = this.held.map((entry) => `${JSON.stringify(entry)}\n`).join('');
    const text = this.tornTail ? `\n${lines}` : lines;
    try {
      appendFileSync(this.file, text);
    } catch (error) {
      if (!isStorageUnavailable(error)) throw error;
      // A partial append may have left a torn line: start the next write on a fresh one (load() skips torn lines).
      this.tornTail = true;
      this.options.onStorageError?.(error, this.file);
      return false;
    }
    this.appendedBytes += Buffer.byteLength(text);
    this.held = [];
    this.tornTail = false;
    return true;
  }

  override acknowledge(n: number): void {
    if (!this.pending.has(n)) return;
    const unwritten = this.held.find((entry) => entry.n === n);
    const seq = unwritten && eventSeqOf(unwritten);
    if (seq !== undefined) this.deliveredFromMemory.atLeast(seq);
    super.acknowledge(n);
    // Acks come in bursts: persist the watermark once per burst, off the publish path. Losing the last one in a
    // crash only means those events are sent again (at least once; consumers deduplicate on the event id).
    if (!this.persistScheduled) {
      this.persistScheduled = true;
      setImmediate(() => this.persistWatermark());
    }
  }

  /** Writes the acknowledged watermark now (on shutdown, so a clean restart resends nothing). */
  persistWatermark(): void {
    this.persistScheduled = false;
    this.acked.atLeast(this.watermark);
    if (this.pending.size === 0 && this.appendedBytes > COMPACT_AFTER_BYTES) this.compact();
  }

  /**
   * Every entry is acknowledged: only the newest event stays (at or below the watermark, so it is not sent again).
   * Without it, a restart could not tell whether the seq counter's last number ever reached the outbox.
   */
  private compact(): void {
    const kept = this.lastEventEntry ? `${JSON.stringify(this.lastEventEntry)}\n` : '';
    const temp = `${this.file}.compact`;
    writeFileSync(temp, kept);
    renameSync(temp, this.file);
    this.appendedBytes = Buffer.byteLength(kept);
  }

  private load(): void {
    closeSync(openSync(this.file, 'a'));
    const watermark = this.acked.current();
    this.watermark = watermark;
    this.lastN = watermark;
    const text = readFileSync(this.file, 'utf8');
    this.appendedBytes = Buffer.byteLength(text);
    // A torn last line (a crash or a full disk mid-append): the next append starts on a fresh line.
    this.tornTail = text.length > 0 && !text.endsWith('\n');
    for (const line of text.split('\n')) {
      const entry = parseEntry(line);
      if (!entry) continue;
      this.lastN = Math.max(this.lastN, entry.n);
      if (entry.n > watermark) this.pending.set(entry.n, entry);
      const clipId = clipOutcomeOf(entry);
      if (clipId) this.clipOutcomes.add(clipId);
      const seq = eventSeqOf(entry);
      if (seq !== undefined && seq >= (this.lastEventSeq ?? 0)) {
        this.lastEventSeq = seq;
        this.lastEventEntry = entry;
      }
    }
    // Nothing was ever appended: no seq has reached the outbox yet, so a seq the counter gave out is given back.
    if (this.lastEventSeq === undefined && this.lastN === 0) this.lastEventSeq = 0;
    const fromMemory = this.deliveredFromMemory.current();
    if (fromMemory > (this.lastEventSeq ?? 0)) this.lastEventSeq = fromMemory;
  }
}

function eventSeqOf(entry: OutboxEntry): number | undefined {
  if (!entry.topic.includes('/events/')) return undefined;
  const seq = payloadField(entry, 'seq');
  return typeof seq === 'number' ? seq : undefined;
}

function clipOutcomeOf(entry: OutboxEntry): string | undefined {
  if (!entry.topic.endsWith('/events/clip')) return undefined;
  const clipId = payloadField(entry, 'clipId');
  return typeof clipId === 'string' ? clipId : undefined;
}

function payloadField(entry: OutboxEntry, field: string): unknown {
  try {
    return (JSON.parse(entry.payload) as Record<string, unknown>)[field];
  } catch {
    return undefined;
  }
}

/** A torn last line (crash mid-append) is skipped: it was never handed to the broker. */
function parseEntry(line: string): OutboxEntry | undefined {
  if (!line) return undefined;
  try {
    const entry = JSON.parse(line) as OutboxEntry;
    return Number.isSafeInteger(entry.n) && typeof entry.topic === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}
