import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockTimeoutError, withFileLock } from '../../src/persist/file-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that was just in use and is now gone. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

describe('withFileLock', () => {
  it('lets one holder in at a time and leaves no file behind', async () => {
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withFileLock(dir, 'clip-a', async () => {
          inside += 1;
          most = Math.max(most, inside);
          await sleep(i % 3);
          inside -= 1;
        }),
      ),
    );
    expect(most).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes over a lock whose owner died (kill -9), and waits for a live owner's", async () => {
    await writeFile(join(dir, 'clip-b.lock'), `${deadPid()} deadbeef`);
    expect(await withFileLock(dir, 'clip-b', async () => 'ran')).toBe('ran');
    expect(existsSync(join(dir, 'clip-b.lock'))).toBe(false);

    // Our parent is alive: its lock is honoured until the timeout, which names the file and the owner.
    await writeFile(join(dir, 'clip-c.lock'), `${process.ppid} cafe`);
    const error = await withFileLock(dir, 'clip-c', async () => 'ran', { timeoutMs: 100 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as Error).message).toContain(`clip-c.lock still held by pid ${process.ppid}`);
  });
});
