import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { fsyncDir, writeFileAtomic } from '../persist/durable-write.js';
import { errnoCode } from '../persist/fs-errors.js';
import type { NormalizedClip } from './clip-metadata.js';
import { type CopyDigest, copyAndHash } from './hashing.js';
import type { ClipObjectKind } from './keys.js';

/**
 * The on-disk half of the upload queue. Layout under the spool directory:
 *   entries/<entryId>/entry.json + clip.mp4 [+ thumb.jpg]   one committed clip
 *   entries/<entryId>.incoming/                              a clip being admitted (commit = rename)
 *   failed/<entryId>/ (+ failure.json)                       clips that can never upload, kept for a human
 * entry.json is written first, so a crash at any point leaves enough to roll forward or clean up.
 */

export type SpoolMode = 'move' | 'copy';

export interface SpoolObject {
  kind: ClipObjectKind;
  key: string;
  /** File name inside the entry folder. */
  file: string;
  bytes: number;
  /** Known when the bytes were hashed on the way in (copy mode), or given by the producer. */
  sha256?: string;
  /** The producer's MD5, when it gave one (lets an S3 upload skip hashing). */
  md5?: string;
  /** Where the recorder left it. */
  source: string;
}

export interface SpoolEntry {
  v: 1;
  entryId: string;
  seq: number;
  enqueuedAt: string;
  mode: SpoolMode;
  clip: NormalizedClip;
  objects: SpoolObject[];
}

export interface FailedEntry {
  entry: SpoolEntry;
  reason: string;
}

/** File operations the spool needs, replaceable to inject faults (full disk) in tests. */
export interface SpoolFileOps {
  copyFile(source: string, target: string): Promise<CopyDigest>;
  writeDurable(path: string, data: string): Promise<void>;
}

export const realSpoolFileOps: SpoolFileOps = {
  async copyFile(source, target) {
    const input = await open(source, 'r');
    try {
      const output = await open(target, 'wx');
      try {
        const digest = await copyAndHash(input, output);
        await output.sync();
        return digest;
      } finally {
        await output.close();
      }
    } finally {
      await input.close();
    }
  },
  writeDurable: writeFileAtomic,
};

const JOURNAL = 'entry.json';
const INCOMING = '.incoming';

const ObjectSchema = z
  .object({
    kind: z.enum(['clip', 'thumbnail']),
    key: z.string().min(1),
    file: z.enum(['clip.mp4', 'thumb.jpg']),
    bytes: z.number().int().nonnegative(),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    md5: z
      .string()
      .regex(/^[0-9a-f]{32}$/)
      .optional(),
    source: z.string(),
  })
  .refine((object) => object.md5 === undefined || object.sha256 !== undefined, {
    message: 'md5 is only recorded together with sha256',
    path: ['md5'],
  });

const EntrySchema = z.object({
  v: z.literal(1),
  entryId: z.string().regex(/^[a-z0-9_-]{1,64}\.[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/),
  seq: z.number().int().nonnegative(),
  enqueuedAt: z.string(),
  mode: z.enum(['move', 'copy']),
  clip: z.object({
    deviceId: z.string(),
    clipId: z.string(),
    eventId: z.string(),
    trigger: z.string(),
    triggerEventIds: z.array(z.string()).optional(),
    sessionId: z.string().optional(),
    recordedAt: z.string(),
    startedAt: z.string().optional(),
    endedAt: z.string().optional(),
    retentionDays: z.number().int().positive(),
    retainUntil: z.string(),
    encrypted: z.boolean(),
    legalHold: z.boolean(),
    extraMetadata: z.record(z.string(), z.string()),
  }),
  objects: z.array(ObjectSchema).min(1),
});

export function entryIdOf(deviceId: string, clipId: string): string {
  return `${deviceId}.${clipId}`;
}

export function fileNameFor(kind: ClipObjectKind): 'clip.mp4' | 'thumb.jpg' {
  return kind === 'clip' ? 'clip.mp4' : 'thumb.jpg';
}

export interface SpoolScan {
  entries: SpoolEntry[];
  failed: FailedEntry[];
  /** One line per thing found broken and set aside (already logged-worthy). */
  problems: string[];
}

export class Spool {
  readonly entriesDir: string;
  readonly failedDir: string;

  constructor(
    readonly dir: string,
    private readonly ops: SpoolFileOps = realSpoolFileOps,
  ) {
    this.entriesDir = join(dir, 'entries');
    this.failedDir = join(dir, 'failed');
  }

  entryDir(entryId: string): string {
    return join(this.entriesDir, entryId);
  }

  dataPath(entry: SpoolEntry, object: SpoolObject): string {
    return join(this.entryDir(entry.entryId), object.file);
  }

  /** Creates the folders, finishes what a crash interrupted, and returns every committed entry in order. */
  async open(): Promise<SpoolScan> {
    await mkdir(this.entriesDir, { recursive: true });
    await mkdir(this.failedDir, { recursive: true });
    await this.probeWritable();
    const scan: SpoolScan = { entries: [], failed: [], problems: [] };
    for (const name of (await readdir(this.entriesDir)).sort()) {
      const path = join(this.entriesDir, name);
      if (name.startsWith('.')) {
        await rm(path, { recursive: true, force: true });
      } else if (name.endsWith(INCOMING)) {
        const rolled = await this.rollForward(path, scan);
        if (rolled) scan.entries.push(rolled);
      } else {
        const entry = await readEntry(join(path, JOURNAL));
        if (entry === 'missing') {
          // Removal had begun (the journal goes first): finish it.
          await rm(path, { recursive: true, force: true });
        } else if (typeof entry === 'string') {
          scan.problems.push(`spool entry ${name}: ${entry}`);
          await this.setAside(path, name, entry);
        } else if (entry.entryId !== name) {
          const reason = `${JOURNAL} names entry ${entry.entryId}`;
          scan.problems.push(`spool entry ${name}: ${reason}`);
          await this.setAside(path, name, reason);
        } else {
          const missing = await this.missingData(path, entry);
          if (missing) {
            scan.problems.push(`spool entry ${name}: ${missing}`);
            await this.setAside(path, name, missing);
          } else {
            scan.entries.push(entry);
          }
        }
      }
    }
    scan.failed = await this.readFailed();
    scan.entries.sort((a, b) => a.seq - b.seq);
    return scan;
  }

  /**
   * Takes the clip's files into the spool durably. Resolves once the entry is committed; on failure nothing
   * is left in the spool and moved files are put back where they were.
   */
  async admit(entry: SpoolEntry): Promise<SpoolEntry> {
    const incoming = join(this.entriesDir, entry.entryId + INCOMING);
    await rm(incoming, { recursive: true, force: true });
    await mkdir(incoming);
    const moved: Array<{ from: string; to: string }> = [];
    const crossDeviceSources: string[] = [];
    try {
      await this.ops.writeDurable(join(incoming, JOURNAL), JSON.stringify(entry));
      for (const object of entry.objects) {
        const target = join(incoming, object.file);
        if (entry.mode === 'move') {
          const how = await this.moveIn(object, target);
          if (how === 'renamed') moved.push({ from: object.source, to: target });
          else crossDeviceSources.push(object.source);
        } else {
          await this.copyIn(object, target);
        }
      }
      if (entry.objects.some((o) => o.sha256 !== undefined)) {
        await this.ops.writeDurable(join(incoming, JOURNAL), JSON.stringify(entry));
      }
      await fsyncDir(incoming);
      await rename(incoming, this.entryDir(entry.entryId));
      await fsyncDir(this.entriesDir);
    } catch (error) {
      for (const { from, to } of moved.reverse()) await rename(to, from).catch(() => undefined);
      await rm(incoming, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
    for (const source of crossDeviceSources) await rm(source, { force: true }).catch(() => undefined);
    return entry;
  }

  /** Removes a confirmed entry: journal first, so a crash mid-way reads as "removal in progress". */
  async remove(entryId: string): Promise<void> {
    const dir = this.entryDir(entryId);
    await rm(join(dir, JOURNAL), { force: true });
    await fsyncDir(dir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await fsyncDir(this.entriesDir);
  }

  /** Moves an entry that can never upload to failed/, with the reason beside it. */
  async quarantine(entryId: string, reason: string): Promise<void> {
    await this.setAside(this.entryDir(entryId), entryId, reason);
  }

  async rewrite(entry: SpoolEntry): Promise<void> {
    await this.ops.writeDurable(join(this.entryDir(entry.entryId), JOURNAL), JSON.stringify(entry));
  }

  /** Throws when the spool cannot take a small durable write (full, read-only). */
  async probeWritable(): Promise<void> {
    const probe = join(this.entriesDir, `.probe-${process.pid}`);
    await this.ops.writeDurable(probe, 'ok');
    await rm(probe, { force: true });
  }

  private async moveIn(object: SpoolObject, target: string): Promise<'renamed' | 'copied'> {
    try {
      await rename(object.source, target);
    } catch (error) {
      if (errnoCode(error) !== 'EXDEV') throw error;
      // Across file systems a move is a copy: checked like one against the producer's sha256.
      await this.copyIn(object, target);
      return 'copied';
    }
    // The recorder may not have flushed it: the journal must not claim bytes the disk does not have.
    const handle = await open(target, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return 'renamed';
  }

  private async copyIn(object: SpoolObject, target: string): Promise<void> {
    const digest = await this.ops.copyFile(object.source, target);
    if (digest.bytes !== object.bytes) {
      throw new Error(
        `${object.source} changed size while being spooled (${object.bytes} → ${digest.bytes} bytes)`,
      );
    }
    if (object.sha256 !== undefined && object.sha256 !== digest.sha256) {
      throw new Error(
        `${object.source} has sha256 ${digest.sha256}, not the ${object.sha256} its producer gave`,
      );
    }
    object.sha256 = digest.sha256;
  }

  private async rollForward(path: string, scan: SpoolScan): Promise<SpoolEntry | undefined> {
    const entry = await readEntry(join(path, JOURNAL));
    if (typeof entry === 'string') {
      // The journal is written before any file moves: without one, nothing of the caller's is in here.
      await rm(path, { recursive: true, force: true });
      return undefined;
    }
    for (const object of entry.objects) {
      const target = join(path, object.file);
      if ((await sizeOf(target)) === object.bytes) continue;
      if ((await sizeOf(object.source)) === object.bytes) {
        await rm(target, { force: true });
        if (entry.mode === 'move') await this.moveIn(object, target);
        else await this.copyIn(object, target);
        continue;
      }
      const reason = `interrupted while spooling and ${object.source} is gone`;
      scan.problems.push(`spool entry ${entry.entryId}: ${reason}`);
      await this.setAside(path, entry.entryId, reason);
      return undefined;
    }
    await this.ops.writeDurable(join(path, JOURNAL), JSON.stringify(entry));
    await rename(path, this.entryDir(entry.entryId));
    await fsyncDir(this.entriesDir);
    return entry;
  }

  private async missingData(dir: string, entry: SpoolEntry): Promise<string | undefined> {
    for (const object of entry.objects) {
      const size = await sizeOf(join(dir, object.file));
      if (size === undefined) return `${object.file} is missing`;
      if (size !== object.bytes) return `${object.file} has ${size} bytes, expected ${object.bytes}`;
    }
    return undefined;
  }

  private async setAside(path: string, name: string, reason: string): Promise<void> {
    const target = join(this.failedDir, name.replace(INCOMING, ''));
    await rm(target, { recursive: true, force: true });
    await rename(path, target);
    await writeFileAtomic(join(target, 'failure.json'), JSON.stringify({ reason }));
    await fsyncDir(this.entriesDir);
  }

  private async readFailed(): Promise<FailedEntry[]> {
    const out: FailedEntry[] = [];
    for (const name of (await readdir(this.failedDir)).sort()) {
      if (name.startsWith('.')) continue;
      const entry = await readEntry(join(this.failedDir, name, JOURNAL));
      if (typeof entry === 'string') continue;
      let reason = 'unknown';
      try {
        reason = (
          JSON.parse(await readFile(join(this.failedDir, name, 'failure.json'), 'utf8')) as { reason: string }
        ).reason;
      } catch {}
      out.push({ entry, reason });
    }
    return out;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}

/** The entry, 'missing', or a one-line reason it is unreadable. */
async function readEntry(path: string): Promise<SpoolEntry | string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 'missing';
    return `cannot read ${JOURNAL}: ${errnoCode(error) ?? String(error)}`;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return `${JOURNAL} is not valid JSON`;
  }
  const parsed = EntrySchema.safeParse(json);
  if (!parsed.success) return `${JOURNAL} is invalid: ${z.prettifyError(parsed.error).replaceAll('\n', ' ')}`;
  return parsed.data as SpoolEntry;
}
