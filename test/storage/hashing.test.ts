import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyAndHash, hashFile } from '../../src/storage/hashing.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-hash-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('copyAndHash', () => {
  it('copies exactly and hashes the bytes in one pass, across chunk boundaries', async () => {
    for (const size of [0, 1, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 7]) {
      const data = randomBytes(size);
      const src = join(dir, `src-${size}`);
      const dst = join(dir, `dst-${size}`);
      await writeFile(src, data);
      const input = await open(src, 'r');
      const output = await open(dst, 'w');
      const digest = await copyAndHash(input, output);
      await input.close();
      await output.close();
      expect(digest).toEqual({ bytes: size, sha256: createHash('sha256').update(data).digest('hex') });
      expect(Buffer.compare(await readFile(dst), data)).toBe(0);
      expect(await hashFile(src)).toEqual(digest);
    }
  });

  it('reports a full disk as ENOSPC instead of crashing the process', async () => {
    const src = join(dir, 'full-src');
    await writeFile(src, randomBytes(3 * (1 << 20)));
    const input = await open(src, 'r');
    const full = await open('/dev/full', 'w');
    try {
      await expect(copyAndHash(input, full)).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      await input.close();
      await full.close();
    }
  });
});
