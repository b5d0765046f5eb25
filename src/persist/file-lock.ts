import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode } from './fs-errors.js';

/** The lock stayed taken longer than the caller would wait; the message names the lock file and its owner. */
export class LockTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockTimeoutError';
  }
}

export interface FileLockOptions {
  /** Give up after this long (default 30 s): a live owner holds the lock only for one short step. */
  timeoutMs?: number;
}

const LOCK_NAME = /^[a-zA-Z0-9_.-]{1,200}$/;
/** Locks this process holds, by path: a file naming our own pid that is not in here was left by a dead process. */
const heldHere = new Set<string>();
/** Same-process contenders queue here instead of polling the file. */
const queues = new Map<string, Promise<unknown>>();

/**
 * Runs `action` while holding the lock file `<dir>/<name>.lock`, shared by every process on this host that uses
 * the same dir (a CLI `hold set`, a CLI sweep, the agent's sweeper and its legal-demand path). The file holds
 * "<pid> <token>"; a file whose pid is dead (kill -9) is taken over, so a crash never blocks the lock for good.
 */
export async function withFileLock<T>(
  dir: string,
  name: string,
  action: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  if (!LOCK_NAME.test(name)) throw new Error(`lock name ${JSON.stringify(name)} is invalid`);
  const path = join(dir, `${name}.lock`);
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous
    .catch(() => undefined)
    .then(async () => {
      const token = await acquire(dir, path, options.timeoutMs ?? 30_000);
      heldHere.add(path);
      try {
        return await action();
      } finally {
        heldHere.delete(path);
        await release(path, token);
      }
    });
  queues.set(path, run);
  try {
    return await run;
  } finally {
    if (queues.get(path) === run) queues.delete(path);
  }
}

async function acquire(dir: string, path: string, timeoutMs: number): Promise<string> {
  const token = `${process.pid} ${randomBytes(8).toString('hex')}`;
  const deadline = Date.now() + timeoutMs;
  await mkdir(dir, { recursive: true });
  for (let attempt = 0; ; attempt += 1) {
    // Written aside and linked in: link() fails if the lock exists, and the lock file is never seen half-written.
    const draft = `${path}.new-${randomBytes(6).toString('hex')}`;
    try {
      await writeFile(draft, token, { flag: 'wx' });
      await link(draft, path);
      return token;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    } finally {
      await rm(draft, { force: true });
    }
    const owner = await readFile(path, 'utf8').catch(() => undefined);
    if (owner === undefined) continue;
    if (ownerIsGone(owner, path)) {
      await takeOver(path, owner);
      continue;
    }
    if (Date.now() > deadline) {
      throw new LockTimeoutError(
        `lock ${path} still held by pid ${owner.split(' ')[0]} after ${timeoutMs} ms`,
      );
    }
    await sleep(Math.min(2 + attempt, 20));
  }
}

function ownerIsGone(owner: string, path: string): boolean {
  const pid = Number.parseInt(owner.split(' ')[0] ?? '', 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return !heldHere.has(path);
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return errnoCode(error) === 'ESRCH';
  }
}

/**
 * Removes a dead owner's file without ever removing a live one: the file is renamed aside (atomic, one winner),
 * and if what was moved is not the dead owner's (a live process took the lock in between), it is linked back.
 */
async function takeOver(path: string, deadOwner: string): Promise<void> {
  const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  const moved = await readFile(aside, 'utf8').catch(() => deadOwner);
  if (moved !== deadOwner) await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
}

async function release(path: string, token: string): Promise<void> {
  const owner = await readFile(path, 'utf8').catch(() => undefined);
  if (owner === token) await rm(path, { force: true });
}
