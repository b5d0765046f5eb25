import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PersistentCounter } from '../../src/persist/counter.js';
import { tempPathFor } from '../../src/persist/durable-write.js';
import { SeenIds } from '../../src/persist/seen-ids.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-small-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('PersistentCounter', () => {
  it('survives a restart, never goes back with atLeast, gives back unused numbers', () => {
    const path = join(dir, 'state', 'seq');
    const counter = new PersistentCounter(path);
    expect([counter.next(), counter.next(), counter.next()]).toEqual([1, 2, 3]);
    counter.atLeast(2);
    expect(counter.current()).toBe(3);
    counter.giveBackAfter(1);
    counter.close();
    const restarted = new PersistentCounter(path);
    expect(restarted.current()).toBe(1);
    expect(restarted.next()).toBe(2);
    restarted.close();
  });

  it('starts from 0 on a missing or unreadable file', async () => {
    const path = join(dir, 'seq');
    await writeFile(path, 'garbage');
    expect(new PersistentCounter(path).current()).toBe(0);
  });
});

describe('SeenIds', () => {
  it('remembers ids across restarts and compacts to the most recent `limit`', async () => {
    const path = join(dir, 'announced');
    const seen = new SeenIds(path, 3);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) seen.add(id);
    seen.add('g');
    expect(seen.has('a')).toBe(false);
    expect(seen.has('g')).toBe(true);
    // Compaction (past twice the limit) rewrote the file to the last three ids, atomically: no temp file left.
    expect(await readFile(path, 'utf8')).toBe('e\nf\ng\n');
    expect(await readdir(dir)).toEqual(['announced']);
    const restarted = new SeenIds(path, 3);
    expect(['e', 'f', 'g'].every((id) => restarted.has(id))).toBe(true);
    expect(restarted.has('d')).toBe(false);
  });

  it('ignores and removes a compaction temp file a crash left behind', async () => {
    const path = join(dir, 'announced');
    await writeFile(path, 'x\ny\n');
    await writeFile(tempPathFor(path), 'x\n');
    const seen = new SeenIds(path);
    expect(seen.has('y')).toBe(true);
    expect(await readdir(dir)).toEqual(['announced']);
  });
});
