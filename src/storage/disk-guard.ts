import { rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFsError, isStorageUnavailable } from '../persist/fs-errors.js';

/** Space kept free for events when clips are refused: about 10,000 events, a few clips' worth. */
export const DEFAULT_DISK_RESERVE_BYTES = 4 * 1024 * 1024;
const POLL_MS = 250;

export interface DiskGuardOptions {
  /** The device's data dir: its events, spool and recordings. */
  dir: string;
  /** Below this much free space the disk is under pressure: clips are refused, events use what is left. */
  reserveBytes?: number;
  /** How often the disk is checked (default 250 ms, so a problem shows in state within a second). */
  pollMs?: number;
  onChange(problem: string | undefined): void;
}

/**
 * Watches the data dir for a disk that is nearly full, full or read-only. Each check writes and removes a probe file
 * (the only way to see a read-only mount) and reads the free space. A writer that hits ENOSPC or EROFS reports it
 * here at once; the next good check clears the problem, so the device recovers by itself when space returns.
 */
export class DiskGuard {
  private timer: NodeJS.Timeout | undefined;
  private current: string | undefined;
  private checking: Promise<void> | undefined;
  private readonly reserveBytes: number;

  constructor(private readonly options: DiskGuardOptions) {
    this.reserveBytes = options.reserveBytes ?? DEFAULT_DISK_RESERVE_BYTES;
  }

  /** What is wrong with the disk right now ("disk full: …", "… read-only …"), or undefined. */
  get problem(): string | undefined {
    return this.current;
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = setInterval(() => void this.check(), this.options.pollMs ?? POLL_MS);
    this.timer.unref();
    await this.check();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A writer's failure: a storage error becomes the problem now, without waiting for the next check. */
  report(error: unknown, action: string, path: string): void {
    if (isStorageUnavailable(error)) this.set(describeFsError(error, action, path));
  }

  /** One check now (tests, and after a writer's failure). */
  check(): Promise<void> {
    this.checking ??= this.probe()
      .then((problem) => this.set(problem))
      .finally(() => {
        this.checking = undefined;
      });
    return this.checking;
  }

  private async probe(): Promise<string | undefined> {
    const { dir } = this.options;
    const probe = join(dir, '.disk-probe');
    try {
      await writeFile(probe, 'probe');
      await rm(probe, { force: true });
    } catch (error) {
      await rm(probe, { force: true }).catch(() => undefined);
      return describeFsError(error, 'cannot write', dir);
    }
    try {
      const fs = await statfs(dir);
      const free = fs.bavail * fs.bsize;
      if (free < this.reserveBytes) {
        return `disk full: ${dir} has ${free} bytes free, below the ${this.reserveBytes}-byte reserve kept for events (ENOSPC ahead)`;
      }
    } catch (error) {
      return describeFsError(error, 'cannot read free space of', dir);
    }
    return undefined;
  }

  private set(problem: string | undefined): void {
    if (problem === this.current) return;
    this.current = problem;
    this.options.onChange(problem);
  }
}
