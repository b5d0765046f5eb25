import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptFile } from '../../src/privacy/envelope.js';
import { ownerKeyId } from '../../src/privacy/owner-keys.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { runInProcess } from '../helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-privacy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runInProcess(args, { cwd: dir });

describe('doorbell keys / decrypt', () => {
  const clip = randomBytes(300_000);

  it('generates owner.pem (0600) and owner.pub.pem, and refuses to overwrite them', async () => {
    const generated = await cli(['keys', 'generate', '--out', 'keys']);
    expect(generated.code).toBe(0);
    const privateStat = await stat(join(dir, 'keys/owner.pem'));
    expect(privateStat.mode & 0o777).toBe(0o600);
    const pub = await readFile(join(dir, 'keys/owner.pub.pem'), 'utf8');
    expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(generated.stdout).toContain(`key id ${ownerKeyId(pub)}`);

    const again = await cli(['keys', 'generate', '--out', 'keys']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/owner\.pem already exists \(use --force/);
    expect(await readFile(join(dir, 'keys/owner.pub.pem'), 'utf8')).toBe(pub);

    const id = await cli(['keys', 'id', 'keys/owner.pem']);
    expect(id.stdout.trim()).toBe(ownerKeyId(pub));
  });

  it('restores the MP4 from an encrypted file', async () => {
    await writeFile(join(dir, 'clip.mp4'), clip);
    await encryptFile(
      join(dir, 'clip.mp4'),
      join(dir, 'clip.mp4.enc'),
      await readFile(join(dir, 'keys/owner.pub.pem'), 'utf8'),
    );
    const result = await cli(['decrypt', 'clip.mp4.enc', '--key', 'keys/owner.pem', '--out', 'restored.mp4']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect((await readFile(join(dir, 'restored.mp4'))).equals(clip)).toBe(true);
  });

  it('exits 2 with one clear line on a flipped byte, and writes nothing', async () => {
    const tampered = await readFile(join(dir, 'clip.mp4.enc'));
    tampered[tampered.length - 5_000]! ^= 0x80;
    await writeFile(join(dir, 'tampered.mp4.enc'), tampered);
    const result = await cli(['decrypt', 'tampered.mp4.enc', '--key', 'keys/owner.pem']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^doorbell decrypt: tampered\.mp4\.enc: authentication failed at record 2 .*modified.*\n$/,
    );
    await expect(stat(join(dir, 'tampered.mp4'))).rejects.toThrow();
  });

  it('exits 2 naming the wrong key', async () => {
    await cli(['keys', 'generate', '--out', 'other']);
    const result = await cli(['decrypt', 'clip.mp4.enc', '--key', 'other/owner.pem', '--out', 'x.mp4']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/wrong key/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 when given the public key instead of the private key', async () => {
    const result = await cli(['decrypt', 'clip.mp4.enc', '--key', 'keys/owner.pub.pem', '--out', 'y.mp4']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not a PEM private key|need the private key/);
  });

  it('reads the object from a folder bucket with --bucket', async () => {
    const bucket = new FsBucket(join(dir, 'bucket'));
    const key = 'clips/front-door/2026/05/10/clip-1.mp4';
    const { metadata } = await encryptFile(
      join(dir, 'clip.mp4'),
      join(dir, 'for-bucket.enc'),
      await readFile(join(dir, 'keys/owner.pub.pem'), 'utf8'),
      { binding: { key, clipId: 'clip-1' } },
    );
    await bucket.put(key, join(dir, 'for-bucket.enc'), { encrypted: 'true', ...metadata });
    const stored = await readFile(join(dir, 'bucket', key));
    expect(stored.subarray(4, 8).toString('latin1')).not.toBe('ftyp');
    expect((await bucket.head(key))!.metadata['enc-wrapped-key']).toBe(metadata['enc-wrapped-key']);
    const result = await cli(['decrypt', key, '--key', 'keys/owner.pem', '--bucket', 'bucket']);
    expect(result.code).toBe(0);
    expect((await readFile(join(dir, 'clip-1.mp4'))).equals(clip)).toBe(true);
    const missing = await cli([
      'decrypt',
      'clips/front-door/2026/05/10/none.mp4',
      '--key',
      'keys/owner.pem',
      '--bucket',
      'bucket',
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/not found/);
  });
});
