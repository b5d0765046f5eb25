import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Clock, isoAt } from '../clock/clock.js';
import { SerialQueue } from '../util/serial-queue.js';
import { type AuditEntry, type AuditRecord, GENESIS_HASH, sealRecord } from './audit-record.js';
import { canonicalJson } from './canonical-json.js';

/** Where `doorbell start` keeps the default device's log (data dir / device id / audit.jsonl). */
export const DEFAULT_AUDIT_LOG_PATH = '.doorbell/front-door/audit.jsonl';

export class AuditLogError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditLogError';
  }
}

export interface AuditLogOptions {
  path: string;
  clock: Clock;
  /** fsync after every append (default true). Only tests that measure nothing durable should turn it off. */
  fsync?: boolean;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

/** What a share desk writes its decisions to: the file-backed AuditLog, or MemoryAuditLog. */
export interface AuditTrail {
  /** Opens the trail and answers its head (seq 0 for an empty one). */
  start(): Promise<AuditHead>;
  appendAll(entries: readonly AuditEntry[]): Promise<AuditRecord[]>;
  stop(): Promise<void>;
}

interface OpenLog {
  handle: FileHandle;
  head: AuditHead;
}

/**
 * Append-only, hash-chained JSONL. Appends are serialized (one at a time, in call order) and fsync'd before the
 * promise resolves. It chains onto whatever is already in the file; it does not re-verify old lines (that is
 * `verifyAuditLog`), but it refuses to extend a file whose last line is incomplete or unreadable.
 */
export class AuditLog implements AuditTrail {
  private readonly path: string;
  private readonly clock: Clock;
  private readonly fsync: boolean;
  private log: OpenLog | undefined;
  private readonly appends = new SerialQueue();

  constructor(options: AuditLogOptions) {
    this.path = options.path;
    this.clock = options.clock;
    this.fsync = options.fsync ?? true;
  }

  /** Opens the file and reads the chain head. Idempotent; append() starts it on demand. */
  start(): Promise<AuditHead> {
    return this.appends.run(async () => (await this.ensureOpen()).head);
  }

  async stop(): Promise<void> {
    await this.appends.run(async () => {
      const log = this.log;
      this.log = undefined;
      await log?.handle.close();
    });
  }

  append(entry: AuditEntry): Promise<AuditRecord> {
    return this.appendAll([entry]).then((records) => records[0]!);
  }

  /** Appends several entries with one write and one fsync; they get consecutive seq numbers. */
  appendAll(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    return this.appends.run(async () => {
      if (entries.length === 0) return [];
      const log = await this.ensureOpen();
      const at = isoAt(this.clock);
      const records: AuditRecord[] = [];
      let head = log.head;
      for (const entry of entries) {
        const record = sealRecord(entry, head.seq + 1, at, head.hash);
        records.push(record);
        head = { seq: record.seq, hash: record.hash };
      }
      const text = records.map((record) => `${canonicalJson(record)}\n`).join('');
      try {
        await log.handle.write(text);
        if (this.fsync) await log.handle.datasync();
      } catch (error) {
        // The file may now hold part of the text; reopen next time so the tail check decides.
        this.log = undefined;
        await log.handle.close().catch(() => undefined);
        throw error;
      }
      log.head = head;
      return records;
    });
  }

  private async ensureOpen(): Promise<OpenLog> {
    if (this.log) return this.log;
    await mkdir(dirname(this.path), { recursive: true });
    const handle = await open(this.path, 'a+', 0o600);
    try {
      const head = await readHead(handle, this.path);
      this.log = { handle, head };
      return this.log;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
}

async function readHead(handle: FileHandle, path: string): Promise<AuditHead> {
  const { size } = await handle.stat();
  if (size === 0) return { seq: 0, hash: GENESIS_HASH };
  let window = Math.min(size, 64 * 1024);
  for (;;) {
    const buffer = Buffer.alloc(window);
    await handle.read(buffer, 0, window, size - window);
    if (buffer[buffer.length - 1] !== 0x0a) {
      throw new AuditLogError(
        `${path}: the last line is incomplete (an append was interrupted); run \`doorbell audit verify\``,
      );
    }
    const start = buffer.lastIndexOf(0x0a, buffer.length - 2) + 1;
    if (start > 0 || window === size)
      return parseHead(buffer.subarray(start, buffer.length - 1).toString('utf8'), path);
    window = Math.min(size, window * 4);
  }
}

function parseHead(line: string, path: string): AuditHead {
  try {
    const record = JSON.parse(line) as { seq?: unknown; hash?: unknown };
    if (typeof record.seq === 'number' && Number.isInteger(record.seq) && typeof record.hash === 'string') {
      return { seq: record.seq, hash: record.hash };
    }
  } catch {
    // fall through
  }
  throw new AuditLogError(`${path}: the last line is not an audit record; run \`doorbell audit verify\``);
}

/**
 * The same hash chain kept in memory, for a device without a data directory (a fleet device). Nothing is written;
 * only the records appended since start are kept, and only until the process ends.
 */
export class MemoryAuditLog implements AuditTrail {
  private head: AuditHead = { seq: 0, hash: GENESIS_HASH };
  readonly records: AuditRecord[] = [];

  constructor(private readonly clock: Clock) {}

  async start(): Promise<AuditHead> {
    return this.head;
  }

  async appendAll(entries: readonly AuditEntry[]): Promise<AuditRecord[]> {
    const at = isoAt(this.clock);
    const records = entries.map((entry) => {
      const record = sealRecord(entry, this.head.seq + 1, at, this.head.hash);
      this.head = { seq: record.seq, hash: record.hash };
      return record;
    });
    this.records.push(...records);
    return records;
  }

  async stop(): Promise<void> {}
}
