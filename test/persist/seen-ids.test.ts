import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SeenIds } from '../../src/persist/seen-ids.js';
import { tempDir } from '../helpers/mqtt.js';

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `clip-${from + i}`);

describe('SeenIds', () => {
  it('remembers what was added, and nothing else', () => {
    const seen = new SeenIds(join(tempDir(), 'state', 'seen'));
    expect(seen.has('clip-1')).toBe(false);
    seen.add('clip-1');
    seen.add('clip-1');
    expect(seen.has('clip-1')).toBe(true);
    expect(seen.has('clip-2')).toBe(false);
  });

  it('remembers across a restart', () => {
    const path = join(tempDir(), 'seen');
    const first = new SeenIds(path);
    for (const id of ids(1, 5)) first.add(id);
    const restarted = new SeenIds(path);
    for (const id of ids(1, 5)) expect(restarted.has(id)).toBe(true);
    expect(restarted.has('clip-6')).toBe(false);
  });

  it('keeps at least the most recent `limit` ids, across restarts, and forgets old ones', () => {
    const path = join(tempDir(), 'seen');
    const limit = 4;
    const seen = new SeenIds(path, limit);
    for (const id of ids(1, 10 * limit)) seen.add(id);
    const recent = ids(9 * limit + 1, 10 * limit);
    for (const id of recent) expect(seen.has(id)).toBe(true);
    expect(seen.has('clip-1')).toBe(false);

    const restarted = new SeenIds(path, limit);
    for (const id of recent) expect(restarted.has(id)).toBe(true);
    expect(restarted.has('clip-1')).toBe(false);
    // Still appending after a restart: what it adds now survives the next one too.
    restarted.add('clip-new');
    expect(new SeenIds(path, limit).has('clip-new')).toBe(true);
  });
});
