import {
  createCipheriv,
  createDecipheriv,
  createHash,
  type Hash,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ByteQueue } from './byte-queue.js';
import {
  DEFAULT_CHUNK_BYTES,
  ENVELOPE_CIPHER,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  type EnvelopeHeader,
  encodeHeader,
  envelopeMetadata,
  headerDigest,
  MAX_CHUNK_BYTES,
  MIN_CHUNK_BYTES,
  NONCE_PREFIX_BYTES,
  PREAMBLE_BYTES,
  parseHeaderJson,
  readHeaderLength,
  recordNonce,
  TAG_BYTES,
} from './envelope-format.js';
import { KEY_WRAP_ALGORITHM, unwrapDataKey, wrapDataKey } from './key-wrap.js';
import { type KeyInput, loadOwnerPrivateKey, loadOwnerPublicKey, ownerKeyId } from './owner-keys.js';

export { type EnvelopeHeader, envelopeMetadata } from './envelope-format.js';

export type EnvelopeFailure = 'not-encrypted' | 'bad-header' | 'wrong-key' | 'authentication' | 'truncated';

/** Why a file could not be decrypted. `message` is one line that starts with the file's label. */
export class EnvelopeError extends Error {
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

export interface EncryptOptions {
  /** Plaintext bytes per record; default 256 KiB. Memory use is about two records. */
  chunkSize?: number;
}

export interface EnvelopeSummary {
  /** Ciphertext bytes written (the object size in the bucket). */
  bytes: number;
  /** sha256 of the ciphertext, hex (what the bucket checksums). */
  sha256: string;
  plaintextBytes: number;
  records: number;
  header: EnvelopeHeader;
  /** Small ASCII strings for object metadata; see envelopeMetadata. */
  metadata: Record<string, string>;
}

/**
 * Encrypts a byte stream into the envelope format. Holds at most one record of plaintext (it has to know whether a
 * record is the last one before choosing its nonce). Hashes its own output, so `summary()` after 'end' gives the
 * ciphertext size and sha256 without another pass.
 */
export class EncryptStream extends Transform {
  readonly header: EnvelopeHeader;
  private readonly encodedHeader: Buffer;
  private readonly aad: Buffer;
  private readonly dataKey: Buffer;
  private readonly noncePrefix: Buffer;
  private readonly chunkSize: number;
  private readonly pending = new ByteQueue();
  private readonly hash: Hash = createHash('sha256');
  private headerSent = false;
  private recordIndex = 0;
  private outBytes = 0;
  private inBytes = 0;
  private sha256: string | undefined;

  constructor(ownerPublicKey: KeyInput, options: EncryptOptions = {}) {
    super();
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_BYTES || chunkSize > MAX_CHUNK_BYTES) {
      throw new RangeError(
        `chunkSize must be an integer in ${MIN_CHUNK_BYTES}…${MAX_CHUNK_BYTES}, got ${chunkSize}`,
      );
    }
    const publicKey = loadOwnerPublicKey(ownerPublicKey);
    const kid = ownerKeyId(publicKey);
    this.chunkSize = chunkSize;
    this.dataKey = randomBytes(32);
    this.noncePrefix = randomBytes(NONCE_PREFIX_BYTES);
    this.header = {
      v: ENVELOPE_VERSION,
      cipher: ENVELOPE_CIPHER,
      chunk: chunkSize,
      nonce: this.noncePrefix.toString('base64url'),
      wrap: KEY_WRAP_ALGORITHM,
      kid,
      wk: wrapDataKey(this.dataKey, publicKey, kid),
    };
    this.encodedHeader = encodeHeader(this.header);
    this.aad = headerDigest(this.encodedHeader);
  }

  /** Size, hash and parameters of what was written; only valid after the stream ended. */
  summary(): EnvelopeSummary {
    if (this.sha256 === undefined) throw new Error('EncryptStream.summary() called before the stream ended');
    return {
      bytes: this.outBytes,
      sha256: this.sha256,
      plaintextBytes: this.inBytes,
      records: this.recordIndex,
      header: this.header,
      metadata: envelopeMetadata(this.header),
    };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.inBytes += chunk.length;
      this.pending.push(chunk);
      // Strictly more than one record queued means the first record is not the last one.
      while (this.pending.length > this.chunkSize) this.sealRecord(this.pending.take(this.chunkSize), false);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.sendHeader();
      this.sealRecord(this.pending.takeAll(), true);
      this.dataKey.fill(0);
      this.sha256 = this.hash.digest('hex');
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    this.pushOut(this.encodedHeader);
  }

  private sealRecord(parts: Buffer[], last: boolean): void {
    const cipher = createCipheriv(
      'aes-256-gcm',
      this.dataKey,
      recordNonce(this.noncePrefix, this.recordIndex, last),
    );
    cipher.setAAD(this.aad);
    const out: Buffer[] = [];
    for (const part of parts) out.push(cipher.update(part));
    out.push(cipher.final(), cipher.getAuthTag());
    this.recordIndex++;
    this.pushOut(Buffer.concat(out));
  }

  private pushOut(buffer: Buffer): void {
    this.hash.update(buffer);
    this.outBytes += buffer.length;
    this.push(buffer);
  }
}

export interface DecryptOptions {
  /** Names the input in error messages, e.g. the file or object name. */
  label?: string;
}

/**
 * Decrypts the envelope format. Plaintext of a record is pushed only after that record's tag verified, so a
 * consumer never sees unauthenticated bytes; a truncated or modified file ends the stream with an EnvelopeError.
 */
export class DecryptStream extends Transform {
  private readonly privateKey: KeyObject;
  private readonly label: string;
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

/**
 * Encrypts `inPath` to `outPath` (temp file + fsync + rename, so `outPath` is either complete or absent).
 */
export async function encryptFile(
  inPath: string,
  outPath: string,
  ownerPublicKey: KeyInput,
  options: EncryptOptions = {},
): Promise<EnvelopeSummary> {
  const encrypt = new EncryptStream(ownerPublicKey, options);
  await writeAtomically(outPath, (tmp) =>
    pipeline(
      createReadStream(inPath, { highWaterMark: READ_BUFFER_BYTES }),
      encrypt,
      createWriteStream(tmp, { flush: true }),
    ),
  );
  return encrypt.summary();
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

async function writeAtomically(outPath: string, write: (tmpPath: string) => Promise<void>): Promise<void> {
  const tmp = `${dirname(outPath)}/.${basename(outPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await write(tmp);
    await rename(tmp, outPath);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(outPath));
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
