import { createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../util/user-error.js';
import { ByteQueue } from './byte-queue.js';
import {
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  type EnvelopeBinding,
  type EnvelopeHeader,
  headerDigest,
  PREAMBLE_BYTES,
  parseHeaderJson,
  readHeaderLength,
  recordNonce,
  TAG_BYTES,
} from './envelope-format.js';
import { type EncryptOptions, EnvelopeSealer, type EnvelopeSummary } from './envelope-sealer.js';
import { unwrapDataKey } from './key-wrap.js';
import { type KeyInput, loadOwnerPrivateKey, ownerKeyId } from './owner-keys.js';

export { type EnvelopeBinding, type EnvelopeHeader, envelopeMetadata } from './envelope-format.js';
export { type EncryptOptions, EnvelopeSealer, type EnvelopeSummary } from './envelope-sealer.js';

export type EnvelopeFailure =
  | 'not-encrypted'
  | 'bad-header'
  | 'wrong-key'
  | 'authentication'
  | 'truncated'
  /** Sealed as another object (copied over this key), or not bound to any and not accepted unbound. */
  | 'wrong-object';

/** Why a file could not be decrypted. `message` is one line that starts with the file's label. */
export class EnvelopeError extends UserError {
  constructor(
    readonly failure: EnvelopeFailure,
    message: string,
    /** 1-based record number for record-level failures. */
    readonly record?: number,
  ) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/**
 * Encrypts a byte stream into the envelope format. Holds at most one record of plaintext (it has to know whether a
 * record is the last one before choosing its nonce). Hashes its own output, so `summary()` after 'end' gives the
 * ciphertext size and sha256 without another pass.
 */
export class EncryptStream extends Transform {
  readonly header: EnvelopeHeader;
  private readonly sealer: EnvelopeSealer;
  private readonly pending = new ByteQueue();
  private headerSent = false;

  constructor(ownerPublicKey: KeyInput, options: EncryptOptions = {}) {
    super();
    this.sealer = new EnvelopeSealer(ownerPublicKey, options);
    this.header = this.sealer.header;
  }

  /** Size, hash and parameters of what was written; only valid after the stream ended. */
  summary(): EnvelopeSummary {
    return this.sealer.summary();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.pending.push(chunk);
      // Strictly more than one record queued means the first record is not the last one.
      const { chunkSize } = this.sealer;
      while (this.pending.length > chunkSize) this.pushRecord(this.pending.take(chunkSize), false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.pushRecord(this.pending.takeAll(), true);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.push(this.sealer.start());
  }

  private pushRecord(parts: Buffer[], last: boolean): void {
    this.push(Buffer.concat(this.sealer.seal(parts, last)));
  }
}

export interface DecryptOptions {
  /** Names the input in error messages, e.g. the file or object name. */
  label?: string;
  /** The object being read: the envelope must have been sealed as it (header key and clip id). */
  expect?: EnvelopeBinding;
  /** With `expect`: also open envelopes sealed before objects were bound (v1, or v2 without a binding). */
  allowUnbound?: boolean;
}

/**
 * Decrypts the envelope format. Plaintext of a record is pushed only after that record's tag verified, so a
 * consumer never sees unauthenticated bytes; a truncated or modified file ends the stream with an EnvelopeError.
 */
export class DecryptStream extends Transform {
  private readonly privateKey: KeyObject;
  private readonly label: string;
  private readonly expect: EnvelopeBinding | undefined;
  private readonly allowUnbound: boolean;
  private readonly pending = new ByteQueue();
  private header: EnvelopeHeader | undefined;
  private headerLength: number | undefined;
  private aad: Buffer = Buffer.alloc(0);
  private dataKey: Buffer = Buffer.alloc(0);
  private noncePrefix: Buffer = Buffer.alloc(0);
  private recordBytes = 0;
  private recordIndex = 0;
  private consumed = 0;

  constructor(ownerPrivateKey: KeyInput, options: DecryptOptions = {}) {
    super();
    this.privateKey = loadOwnerPrivateKey(ownerPrivateKey);
    this.label = options.label ?? 'encrypted clip';
    this.expect = options.expect;
    this.allowUnbound = options.allowUnbound ?? false;
  }

  /** The header, once read (its binding says which object it was sealed as). */
  get envelopeHeader(): EnvelopeHeader | undefined {
    return this.header;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.pending.push(chunk);
      if (!this.header && !this.readHeader()) {
        callback();
        return;
      }
      while (this.pending.length > this.recordBytes)
        this.openRecord(this.pending.take(this.recordBytes), false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (!this.header && !this.readHeader()) {
        throw this.pending.length < PREAMBLE_BYTES && !this.looksLikeEnvelopeStart()
          ? this.fail('not-encrypted', 'not an encrypted clip (no doorbell envelope signature)')
          : this.fail('truncated', 'the file ends inside the envelope header — it was truncated');
      }
      const remaining = this.pending.length;
      if (remaining < TAG_BYTES) {
        throw this.fail(
          'truncated',
          `the file ends inside record ${this.recordIndex + 1} (${remaining} bytes) — it was truncated`,
          this.recordIndex + 1,
        );
      }
      this.openRecord(this.pending.takeAll(), true);
      this.dataKey.fill(0);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  /** Returns true once the header is parsed and the data key unwrapped; false when more bytes are needed. */
  private readHeader(): boolean {
    if (this.headerLength === undefined) {
      if (this.pending.length < PREAMBLE_BYTES) {
        if (!this.looksLikeEnvelopeStart())
          throw this.fail('not-encrypted', 'not an encrypted clip (no doorbell envelope signature)');
        return false;
      }
      const length = readHeaderLength(this.pending.peek(PREAMBLE_BYTES));
      if (!length.ok)
        throw this.fail(length.reason.startsWith('not an') ? 'not-encrypted' : 'bad-header', length.reason);
      this.headerLength = length.length;
    }
    const total = PREAMBLE_BYTES + this.headerLength;
    if (this.pending.length < total) return false;
    const encoded = Buffer.concat(this.pending.take(total));
    this.consumed += total;
    const parsed = parseHeaderJson(encoded.subarray(PREAMBLE_BYTES));
    if (!parsed.ok) throw this.fail('bad-header', parsed.reason);
    const header = parsed.header;
    this.checkBinding(header);
    const myKid = ownerKeyId(this.privateKey);
    if (header.kid !== myKid) {
      throw this.fail(
        'wrong-key',
        `encrypted for owner key ${header.kid}, but the key given is ${myKid} — wrong key (or the header was modified)`,
      );
    }
    const dataKey = unwrapDataKey(header.wk, this.privateKey, header.kid);
    if (!dataKey) {
      throw this.fail(
        'wrong-key',
        'the wrapped data key does not open with this key — the header was modified or the key is wrong',
      );
    }
    this.header = header;
    this.dataKey = dataKey;
    this.aad = headerDigest(encoded);
    this.noncePrefix = Buffer.from(header.nonce, 'base64url');
    this.recordBytes = header.chunk + TAG_BYTES;
    return true;
  }

  private checkBinding(header: EnvelopeHeader): void {
    const expect = this.expect;
    if (!expect) return;
    if (header.key === undefined) {
      if (this.allowUnbound) return;
      throw this.fail(
        'wrong-object',
        `not bound to an object key (sealed before v${ENVELOPE_VERSION} envelopes), so a swapped object cannot be told apart; pass --allow-unbound to open it anyway`,
      );
    }
    if (header.key !== expect.key || header.clip !== expect.clipId) {
      throw this.fail(
        'wrong-object',
        `sealed as ${header.key} (clip ${header.clip}), not ${expect.key} — the object was swapped or copied`,
      );
    }
  }

  private looksLikeEnvelopeStart(): boolean {
    const start = this.pending.peek(Math.min(this.pending.length, 8));
    return ENVELOPE_MAGIC.subarray(0, start.length).equals(start);
  }

  private openRecord(parts: Buffer[], last: boolean): void {
    const record = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const ciphertext = record.subarray(0, record.length - TAG_BYTES);
    const tag = record.subarray(record.length - TAG_BYTES);
    const number = this.recordIndex + 1;
    const plaintext = this.tryOpen(ciphertext, tag, last);
    if (!plaintext) {
      // A clean cut at a record boundary leaves a complete record that was sealed as "not last".
      if (last && this.tryOpen(ciphertext, tag, false)) {
        throw this.fail(
          'truncated',
          `the file ends after record ${number} without its final record — it was truncated`,
          number,
        );
      }
      const from = this.consumed;
      throw this.fail(
        'authentication',
        `authentication failed at record ${number} (bytes ${from}–${from + record.length - 1}) — the file was modified or the key is wrong`,
        number,
      );
    }
    this.recordIndex++;
    this.consumed += record.length;
    if (plaintext.length > 0) this.push(plaintext);
  }

  private tryOpen(ciphertext: Buffer, tag: Buffer, last: boolean): Buffer | undefined {
    try {
      const decipher = createDecipheriv(
        'aes-256-gcm',
        this.dataKey,
        recordNonce(this.noncePrefix, this.recordIndex, last),
      );
      decipher.setAAD(this.aad);
      decipher.setAuthTag(tag);
      const head = decipher.update(ciphertext);
      const tail = decipher.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return undefined;
    }
  }

  private fail(failure: EnvelopeFailure, reason: string, record?: number): EnvelopeError {
    return new EnvelopeError(failure, `${this.label}: ${reason}`, record);
  }
}

const READ_BUFFER_BYTES = 1024 * 1024;

/** Plaintext read per I/O call when encrypting a file: whole records, about 1 MiB. */
const FILE_BLOCK_BYTES = 1024 * 1024;

/**
 * Flush the ciphertext to disk in the background every this many bytes, so the disk works while the CPU encrypts
 * and whoever syncs the finished file (this function, or the upload queue after `durable: false`) waits only for
 * the tail instead of the whole clip.
 */
const BACKGROUND_FLUSH_BYTES = 8 * 1024 * 1024;

/**
 * Encrypts `inPath` to `outPath` (temp file + fsync + rename, so `outPath` is either complete or absent). Reads,
 * encryption, writes and flushes overlap: while block i is sealed on the main thread, block i+1 is read and block
 * i−1 written on the libuv pool, and every BACKGROUND_FLUSH_BYTES a datasync pushes what is written to disk. One
 * pass; the summary carries the ciphertext's sha256.
 */
export async function encryptFile(
  inPath: string,
  outPath: string,
  ownerPublicKey: KeyInput,
  options: EncryptOptions = {},
): Promise<EnvelopeSummary> {
  const sealer = new EnvelopeSealer(ownerPublicKey, options);
  const durable = options.durable ?? true;
  const input = await open(inPath, 'r');
  try {
    await writeAtomically(
      outPath,
      async (tmp) => {
        const output = await open(tmp, 'wx', 0o600);
        try {
          await sealFile(input, output, sealer, inPath);
          if (durable) await output.sync();
        } finally {
          await output.close();
        }
      },
      durable,
    );
  } finally {
    await input.close();
  }
  return sealer.summary();
}

async function sealFile(
  input: FileHandle,
  output: FileHandle,
  sealer: EnvelopeSealer,
  inPath: string,
): Promise<void> {
  const size = (await input.stat()).size;
  const chunk = sealer.chunkSize;
  const blockBytes = Math.max(1, Math.floor(FILE_BLOCK_BYTES / chunk)) * chunk;
  const buffers = [
    Buffer.allocUnsafe(Math.min(blockBytes, size)),
    Buffer.allocUnsafe(Math.min(blockBytes, size)),
  ];
  let outPosition = 0;
  const header = sealer.start();
  let pendingWrite = writeAll(output, [header], outPosition);
  outPosition += header.length;
  if (size === 0) {
    const record = sealer.seal([], true);
    await pendingWrite;
    await writeAll(output, record, outPosition);
    return;
  }
  const readBlock = (index: number, position: number) =>
    readFully(input, buffers[index % 2]!, Math.min(blockBytes, size - position), position, inPath);
  // At most one flush in flight; it is always awaited before returning, so the fd is never closed under it.
  let flushing: Promise<void> | undefined;
  let unflushedBytes = 0;
  let pendingRead = readBlock(0, 0);
  try {
    for (let index = 0, position = 0; position < size; index++) {
      const block = await pendingRead;
      const next = position + block.length;
      if (next < size) pendingRead = readBlock(index + 1, next);
      const sealed: Buffer[] = [];
      for (let offset = 0; offset < block.length; offset += chunk) {
        const end = Math.min(offset + chunk, block.length);
        sealed.push(...sealer.seal([block.subarray(offset, end)], position + end >= size));
      }
      await pendingWrite;
      pendingWrite = writeAll(output, sealed, outPosition);
      for (const piece of sealed) outPosition += piece.length;
      unflushedBytes += block.length;
      if (unflushedBytes >= BACKGROUND_FLUSH_BYTES && !flushing) {
        unflushedBytes = 0;
        // A failed flush stays in `flushing`, so the await below reports it.
        const flush: Promise<void> = pendingWrite
          .then(() => output.datasync())
          .then(() => {
            if (flushing === flush) flushing = undefined;
          });
        flush.catch(() => undefined);
        flushing = flush;
      }
      position = next;
    }
    await pendingWrite;
    await flushing;
  } catch (error) {
    await Promise.allSettled([pendingWrite, pendingRead, flushing]);
    throw error;
  }
}

async function readFully(
  handle: FileHandle,
  buffer: Buffer,
  length: number,
  position: number,
  path: string,
): Promise<Buffer> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new Error(`${path}: file shrank while it was being encrypted`);
    filled += bytesRead;
  }
  return buffer.subarray(0, length);
}

async function writeAll(handle: FileHandle, pieces: Buffer[], position: number): Promise<void> {
  let remaining = pieces;
  let at = position;
  while (remaining.length > 0) {
    let { bytesWritten } = await handle.writev(remaining, at);
    at += bytesWritten;
    // Drop what was written; a short write leaves part of one piece.
    const rest: Buffer[] = [];
    for (const piece of remaining) {
      if (bytesWritten >= piece.length) {
        bytesWritten -= piece.length;
      } else {
        rest.push(bytesWritten > 0 ? piece.subarray(bytesWritten) : piece);
        bytesWritten = 0;
      }
    }
    remaining = rest;
  }
}

export interface DecryptResult {
  plaintextBytes: number;
}

/**
 * Decrypts `inPath` to `outPath`. On any failure nothing is left at `outPath` and the EnvelopeError names the
 * file and what failed.
 */
export function decryptFile(
  inPath: string,
  outPath: string,
  ownerPrivateKey: KeyInput,
  options: DecryptOptions = {},
): Promise<DecryptResult> {
  const privateKey = loadOwnerPrivateKey(ownerPrivateKey); // before opening the file, so a bad key leaks no fd
  return decryptToFile(createReadStream(inPath, { highWaterMark: READ_BUFFER_BYTES }), outPath, privateKey, {
    ...options,
    label: options.label ?? basename(inPath),
  });
}

/** Like decryptFile, for ciphertext from any stream (e.g. a bucket object). */
export async function decryptToFile(
  source: Readable,
  outPath: string,
  ownerPrivateKey: KeyInput,
  options: DecryptOptions = {},
): Promise<DecryptResult> {
  const decrypt = new DecryptStream(ownerPrivateKey, options);
  let plaintextBytes = 0;
  decrypt.on('data', (chunk: Buffer) => {
    plaintextBytes += chunk.length;
  });
  await writeAtomically(outPath, (tmp) => pipeline(source, decrypt, createWriteStream(tmp, { flush: true })));
  return { plaintextBytes };
}

async function writeAtomically(
  outPath: string,
  write: (tmpPath: string) => Promise<void>,
  durable = true,
): Promise<void> {
  const tmp = `${dirname(outPath)}/.${basename(outPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await write(tmp);
    await rename(tmp, outPath);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  if (durable) await syncDirectory(dirname(outPath));
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the file itself is already synced.
  } finally {
    await handle.close();
  }
}
