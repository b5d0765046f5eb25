import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DecryptStream,
  decryptFile,
  EncryptStream,
  EnvelopeError,
  encryptFile,
} from '../../src/privacy/envelope.js';
import { ENVELOPE_MAGIC, PREAMBLE_BYTES, TAG_BYTES } from '../../src/privacy/envelope-format.js';
import { generateOwnerKeys, ownerKeyId } from '../../src/privacy/owner-keys.js';

const owner = generateOwnerKeys();
const stranger = generateOwnerKeys();
const CHUNK = 1024;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envelope-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A plausible MP4 start: size, 'ftyp', brand — so "no MP4 signature" is a real check. */
function fakeMp4(bytes: number): Buffer {
  const body = randomBytes(bytes);
  Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]).copy(
    body,
    0,
    0,
    Math.min(12, bytes),
  );
  return body;
}

async function roundTrip(plain: Buffer, chunkSize?: number) {
  const name = `rt-${plain.length}-${chunkSize ?? 'default'}`;
  const inPath = join(dir, `${name}.mp4`);
  const encPath = join(dir, `${name}.mp4.enc`);
  const outPath = join(dir, `${name}.out.mp4`);
  await writeFile(inPath, plain);
  const summary = await encryptFile(inPath, encPath, owner.publicKeyPem, chunkSize ? { chunkSize } : {});
  const ciphertext = await readFile(encPath);
  await decryptFile(encPath, outPath, owner.privateKeyPem);
  return { summary, ciphertext, restored: await readFile(outPath) };
}

async function encryptBuffer(plain: Buffer, chunkSize = CHUNK): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from([plain]), new EncryptStream(owner.publicKeyPem, { chunkSize }), collect(out));
  return Buffer.concat(out);
}

async function decryptToFile(ciphertext: Buffer, name: string, key = owner.privateKeyPem): Promise<unknown> {
  const encPath = join(dir, `${name}.enc`);
  const outPath = join(dir, `${name}.out`);
  await writeFile(encPath, ciphertext);
  const error = await decryptFile(encPath, outPath, key).then(
    () => undefined,
    (e: unknown) => e,
  );
  // Never garbage output: on failure there is no output file and no temp file left behind.
  if (error) {
    await expect(stat(outPath)).rejects.toThrow();
    expect((await readdir(dir)).filter((f) => f.includes(`${name}.out`))).toEqual([]);
  }
  return error;
}

function collect(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      into.push(chunk);
      callback();
    },
  });
}

function headerEnd(ciphertext: Buffer): number {
  return PREAMBLE_BYTES + ciphertext.readUInt32BE(ENVELOPE_MAGIC.length);
}

describe('envelope round trip', () => {
  it('restores a multi-MB clip byte-identically and reports the ciphertext size and sha256', async () => {
    const plain = fakeMp4(3 * 1024 * 1024 + 12345);
    const { summary, ciphertext, restored } = await roundTrip(plain);
    expect(restored.equals(plain)).toBe(true);
    expect(summary.bytes).toBe(ciphertext.length);
    expect(summary.sha256).toBe(createHash('sha256').update(ciphertext).digest('hex'));
    expect(summary.plaintextBytes).toBe(plain.length);
    expect(summary.records).toBe(Math.ceil(plain.length / summary.header.chunk));
  });

  it('encryptFile without its own fsync (for the upload queue to sync) gives the same format', async () => {
    const plain = randomBytes(3 * CHUNK + 5);
    await writeFile(join(dir, 'nosync.mp4'), plain);
    const summary = await encryptFile(join(dir, 'nosync.mp4'), join(dir, 'nosync.enc'), owner.publicKeyPem, {
      chunkSize: CHUNK,
      durable: false,
    });
    expect(summary.records).toBe(4);
    await decryptFile(join(dir, 'nosync.enc'), join(dir, 'nosync.out'), owner.privateKeyPem);
    expect((await readFile(join(dir, 'nosync.out'))).equals(plain)).toBe(true);
  });

  it('a clip large enough to be flushed in the background while encrypting is complete and hashed right', async () => {
    const plain = fakeMp4(9 * 1024 * 1024 + 777);
    await writeFile(join(dir, 'big.mp4'), plain);
    const summary = await encryptFile(join(dir, 'big.mp4'), join(dir, 'big.enc'), owner.publicKeyPem, {
      durable: false,
    });
    const ciphertext = await readFile(join(dir, 'big.enc'));
    expect(summary.bytes).toBe(ciphertext.length);
    expect(summary.sha256).toBe(createHash('sha256').update(ciphertext).digest('hex'));
    await decryptFile(join(dir, 'big.enc'), join(dir, 'big.out'), owner.privateKeyPem);
    expect((await readFile(join(dir, 'big.out'))).equals(plain)).toBe(true);
  });

  it('restores a 0-byte input (one empty, authenticated record)', async () => {
    const { summary, ciphertext, restored } = await roundTrip(Buffer.alloc(0));
    expect(restored.length).toBe(0);
    expect(summary.records).toBe(1);
    expect(ciphertext.length).toBe(headerEnd(ciphertext) + TAG_BYTES);
  });

  it.each([
    ['exactly one chunk', CHUNK],
    ['one chunk plus one byte', CHUNK + 1],
    ['exactly two chunks', 2 * CHUNK],
    ['one byte', 1],
  ])('restores %s', async (_name, size) => {
    const plain = randomBytes(size);
    const { summary, restored } = await roundTrip(plain, CHUNK);
    expect(restored.equals(plain)).toBe(true);
    expect(summary.records).toBe(Math.max(1, Math.ceil(size / CHUNK)));
  });

  it.each([
    ['exactly one 1 MiB file block', 1024 * 1024],
    ['two file blocks and a byte', 2 * 1024 * 1024 + 1],
  ])('encryptFile restores %s (default records)', async (_name, size) => {
    const plain = randomBytes(size);
    const { summary, restored } = await roundTrip(plain);
    expect(restored.equals(plain)).toBe(true);
    expect(summary.records).toBe(Math.ceil(size / summary.header.chunk));
  });

  it('has no MP4 signature: own magic, no ftyp at offset 4, plaintext not visible', async () => {
    const plain = fakeMp4(50_000);
    const { ciphertext } = await roundTrip(plain);
    expect(ciphertext.subarray(0, 8).equals(ENVELOPE_MAGIC)).toBe(true);
    expect(ciphertext.subarray(4, 8).toString('latin1')).not.toBe('ftyp');
    expect(ciphertext.includes(Buffer.from('ftypisom'))).toBe(false);
    expect(ciphertext.includes(plain.subarray(100, 132))).toBe(false);
  });

  it('gives each clip a fresh data key: same input, different ciphertext', async () => {
    const plain = randomBytes(5000);
    const a = await encryptBuffer(plain);
    const b = await encryptBuffer(plain);
    expect(a.subarray(headerEnd(a)).equals(b.subarray(headerEnd(b)))).toBe(false);
  });

  it('exposes the wrapped key and parameters as small ASCII metadata strings', async () => {
    const { summary } = await roundTrip(randomBytes(10));
    const metadata = summary.metadata;
    expect(metadata['enc-key-id']).toBe(ownerKeyId(owner.publicKeyPem));
    expect(metadata['enc-wrapped-key']).toBe(summary.header.wk);
    expect(summary.wrappedKey).toBe(summary.header.wk);
    expect(summary.keyId).toBe(ownerKeyId(owner.privateKeyPem));
    const total = Object.entries(metadata).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(total).toBeLessThan(512);
    for (const value of Object.values(metadata)) expect(value).toMatch(/^[\x20-\x7e]+$/);
  });

  it('streams: odd-sized input pieces pass through EncryptStream → DecryptStream unchanged', async () => {
    const plain = randomBytes(10 * CHUNK + 77);
    const pieces: Buffer[] = [];
    for (let offset = 0, step = 1; offset < plain.length; offset += step, step = (step * 7 + 3) % 2999) {
      pieces.push(plain.subarray(offset, offset + step));
    }
    const out: Buffer[] = [];
    await pipeline(
      Readable.from(pieces),
      new EncryptStream(owner.publicKeyPem, { chunkSize: CHUNK }),
      new DecryptStream(owner.privateKeyPem),
      collect(out),
    );
    expect(Buffer.concat(out).equals(plain)).toBe(true);
  });
});

describe('envelope tamper detection', () => {
  const plain = randomBytes(4 * CHUNK + 100); // records 1–4 full, record 5 partial
  let ciphertext: Buffer;
  let firstRecord: number;
  const recordBytes = CHUNK + TAG_BYTES;

  beforeAll(async () => {
    ciphertext = await encryptBuffer(plain);
    firstRecord = headerEnd(ciphertext);
  });

  function flipped(offset: number): Buffer {
    const copy = Buffer.from(ciphertext);
    copy[offset]! ^= 0x01;
    return copy;
  }

  it('one flipped byte in record 3 names record 3', async () => {
    const error = await decryptToFile(flipped(firstRecord + 2 * recordBytes + 10), 'flip-r3');
    expect(error).toBeInstanceOf(EnvelopeError);
    expect((error as EnvelopeError).failure).toBe('authentication');
    expect((error as EnvelopeError).record).toBe(3);
    expect((error as Error).message).toMatch(/^flip-r3\.enc: authentication failed at record 3 .* modified/);
  });

  it('one flipped byte in an auth tag or in the last record is detected', async () => {
    expect(await decryptToFile(flipped(firstRecord + recordBytes - 1), 'flip-tag')).toBeInstanceOf(
      EnvelopeError,
    );
    expect(await decryptToFile(flipped(ciphertext.length - 1), 'flip-last')).toBeInstanceOf(EnvelopeError);
  });

  it('a flipped byte anywhere (every 97th byte tried) fails with an EnvelopeError, never output', async () => {
    for (let offset = 0; offset < ciphertext.length; offset += 97) {
      const error = await decryptToFile(flipped(offset), `flip-${offset}`);
      expect(error, `flip at ${offset}`).toBeInstanceOf(EnvelopeError);
    }
  });

  it('a modified header value that still parses is detected', async () => {
    const header = ciphertext.subarray(PREAMBLE_BYTES, firstRecord).toString('utf8');
    const json = JSON.parse(header) as { nonce: string };
    const otherNonce = Buffer.from(json.nonce, 'base64url');
    otherNonce[0]! ^= 1;
    const edited = header.replace(json.nonce, otherNonce.toString('base64url'));
    const tampered = Buffer.concat([
      ciphertext.subarray(0, PREAMBLE_BYTES),
      Buffer.from(edited),
      ciphertext.subarray(firstRecord),
    ]);
    const error = await decryptToFile(tampered, 'header-edit');
    expect((error as EnvelopeError).failure).toBe('authentication');
    expect((error as EnvelopeError).record).toBe(1);
  });

  it('truncation at a record boundary is reported as truncation', async () => {
    const error = await decryptToFile(ciphertext.subarray(0, firstRecord + 2 * recordBytes), 'cut-boundary');
    expect((error as EnvelopeError).failure).toBe('truncated');
    expect((error as Error).message).toMatch(/ends after record 2 without its final record/);
  });

  it('truncation inside a record and inside the header is detected', async () => {
    expect(
      await decryptToFile(ciphertext.subarray(0, firstRecord + recordBytes + 500), 'cut-mid'),
    ).toBeInstanceOf(EnvelopeError);
    expect(await decryptToFile(ciphertext.subarray(0, firstRecord + 5), 'cut-tiny')).toMatchObject({
      failure: 'truncated',
    });
    expect(await decryptToFile(ciphertext.subarray(0, firstRecord - 3), 'cut-header')).toMatchObject({
      failure: 'truncated',
    });
  });

  it('appended bytes are detected', async () => {
    const error = await decryptToFile(Buffer.concat([ciphertext, randomBytes(40)]), 'appended');
    expect(error).toBeInstanceOf(EnvelopeError);
  });

  it('reordered records are detected', async () => {
    const r1 = ciphertext.subarray(firstRecord, firstRecord + recordBytes);
    const r2 = ciphertext.subarray(firstRecord + recordBytes, firstRecord + 2 * recordBytes);
    const swapped = Buffer.concat([
      ciphertext.subarray(0, firstRecord),
      r2,
      r1,
      ciphertext.subarray(firstRecord + 2 * recordBytes),
    ]);
    const error = await decryptToFile(swapped, 'swapped');
    expect((error as EnvelopeError).failure).toBe('authentication');
    expect((error as EnvelopeError).record).toBe(1);
  });

  it('the wrong owner key is named as such', async () => {
    const error = await decryptToFile(ciphertext, 'wrong-key', stranger.privateKeyPem);
    expect((error as EnvelopeError).failure).toBe('wrong-key');
    expect((error as Error).message).toContain(ownerKeyId(owner.publicKeyPem));
    expect((error as Error).message).toContain('wrong key');
  });

  it('a plain MP4 is reported as not encrypted', async () => {
    const error = await decryptToFile(fakeMp4(4000), 'plain');
    expect((error as EnvelopeError).failure).toBe('not-encrypted');
  });

  it('rejects a non-X25519 owner key with a clear message', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(() => new EncryptStream(rsa)).toThrow(/must be an X25519 key \(got rsa\)/);
  });
});
