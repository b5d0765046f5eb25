import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { InvalidKeyError } from '../../src/storage/keys.js';
import { bucketSuite, readAll, sha256Of } from './bucket-suite.js';

let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'doorbell-fsbucket-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

bucketSuite('fs', async () => new FsBucket(join(workDir, 'suite', 'bucket')), {
  largeBytes: 3 * 1024 * 1024 + 17,
  describePattern: /^file:\/\/\/.+\/suite\/bucket$/,
});

describe('FsBucket on disk', () => {
  it('writes an atomic JSON sidecar next to the object and leaves no temp files', async () => {
    const bucket = new FsBucket(join(workDir, 'sidecar'));
    const src = join(workDir, 'src.mp4');
    await writeFile(src, 'video');
    await bucket.put('clips/d/2026/01/01/x.mp4', src, { trigger: 'ding' });
    const folder = join(workDir, 'sidecar', 'clips', 'd', '2026', '01', '01');
    expect((await readdir(folder)).sort()).toEqual(['x.mp4', 'x.mp4.meta.json']);
    const sidecar = JSON.parse(await readFile(join(folder, 'x.mp4.meta.json'), 'utf8'));
    expect(sidecar).toEqual({
      v: 1,
      bytes: 5,
      sha256: sha256Of(Buffer.from('video')),
      metadata: { trigger: 'ding', sha256: sha256Of(Buffer.from('video')) },
    });
  });

  it('ignores a half-written temp file left by a crash and does not list sidecars', async () => {
    const bucket = new FsBucket(join(workDir, 'crash'));
    const folder = join(workDir, 'crash', 'clips', 'd', '2026', '01', '01');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, '.x.mp4.123-abcd.tmp'), 'half');
    expect(await bucket.head('clips/d/2026/01/01/x.mp4')).toBeUndefined();
    const keys = [];
    for await (const item of bucket.list('')) keys.push(item.key);
    expect(keys).toEqual([]);
  });

  it('hard-links an immutable source on the same file system, and the object survives the source', async () => {
    const bucket = new FsBucket(join(workDir, 'link'));
    const data = randomBytes(200_000);
    const src = join(workDir, 'spooled.mp4');
    await writeFile(src, data);
    await bucket.put('clips/d/2026/01/01/l.mp4', src, {}, { immutableSource: true });
    const stored = join(workDir, 'link', 'clips', 'd', '2026', '01', '01', 'l.mp4');
    expect((await stat(stored)).ino).toBe((await stat(src)).ino);
    await rm(src);
    expect(sha256Of(await readAll(await bucket.get('clips/d/2026/01/01/l.mp4')))).toBe(sha256Of(data));
  });

  it('copies (separate inode) when the source may change', async () => {
    const bucket = new FsBucket(join(workDir, 'copy'));
    const src = join(workDir, 'mutable.mp4');
    await writeFile(src, 'before');
    await bucket.put('clips/d/2026/01/01/c.mp4', src, {});
    await writeFile(src, 'after!');
    const stored = join(workDir, 'copy', 'clips', 'd', '2026', '01', '01', 'c.mp4');
    expect(await readFile(stored, 'utf8')).toBe('before');
  });

  it('keeps a traversal attempt out of the parent directory and refuses symlinked escapes', async () => {
    const root = join(workDir, 'jail', 'bucket');
    const bucket = new FsBucket(root);
    const src = join(workDir, 'evil.mp4');
    await writeFile(src, 'evil');
    await expect(bucket.put('../escape.mp4', src, {})).rejects.toThrow(/could escape the bucket/);
    await expect(stat(join(dirname(root), 'escape.mp4'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => bucket.pathOf('clips/../../escape.mp4')).toThrow(InvalidKeyError);
    expect(bucket.pathOf('clips/d/x.mp4')).toBe(join(root, 'clips', 'd', 'x.mp4'));

    const outside = join(workDir, 'outside');
    await mkdir(outside, { recursive: true });
    await mkdir(join(root, 'clips'), { recursive: true });
    await symlink(outside, join(root, 'clips', 'link'));
    await expect(bucket.put('clips/link/x.mp4', src, {})).rejects.toThrow(/outside the bucket root/);
    expect(await readdir(outside)).toEqual([]);
  });

  it('refuses keys that collide with its sidecars', async () => {
    const bucket = new FsBucket(join(workDir, 'reserved'));
    expect(() => bucket.pathOf('clips/x.mp4.meta.json')).toThrow(/reserved/);
  });

  it('removes emptied date folders on delete', async () => {
    const bucket = new FsBucket(join(workDir, 'prune'));
    const src = join(workDir, 'p.mp4');
    await writeFile(src, 'p');
    await bucket.put('clips/d/2026/01/01/p.mp4', src, {});
    await bucket.delete('clips/d/2026/01/01/p.mp4');
    expect(await readdir(join(workDir, 'prune'))).toEqual([]);
  });
});
