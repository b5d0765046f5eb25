import { createCipheriv, createHash, type Hash, randomBytes } from 'node:crypto';
import {
  DEFAULT_CHUNK_BYTES,
  ENVELOPE_CIPHER,
  ENVELOPE_VERSION,
  type EnvelopeBinding,
  type EnvelopeHeader,
  encodeHeader,
  envelopeMetadata,
  headerDigest,
  MAX_CHUNK_BYTES,
  MIN_CHUNK_BYTES,
  NONCE_PREFIX_BYTES,
  recordNonce,
} from './envelope-format.js';
import { KEY_WRAP_ALGORITHM, wrapDataKey } from './key-wrap.js';
import { type KeyInput, loadOwnerPublicKey, ownerKeyId } from './owner-keys.js';

export interface EncryptOptions {
  /** The bucket object this is sealed as; authenticated, and checked by a decrypt that reads that object. */
  binding?: EnvelopeBinding;
  /** Plaintext bytes per record; default 256 KiB. */
  chunkSize?: number;
  /**
   * encryptFile only: fsync the file and its directory before resolving (default true). Pass false when the
   * result goes straight into something that syncs it itself — the upload queue's 'move' mode does — to avoid
   * paying for the flush twice.
   */
  durable?: boolean;
}

export interface EnvelopeSummary {
  /** Ciphertext bytes written (the object size in the bucket). */
  bytes: number;
  /** sha256 of the ciphertext, hex (what the bucket checksums). */
  sha256: string;
  plaintextBytes: number;
  records: number;
  /** The owner key the data key is wrapped to (header.kid). */
  keyId: string;
  /** The wrapped data key, base64url (header.wk). */
  wrappedKey: string;
  header: EnvelopeHeader;
  /** Small ASCII strings for object metadata; see envelopeMetadata. */
  metadata: Record<string, string>;
}

/**
 * The encrypting half of the format without any I/O: a fresh data key and nonce prefix, the encoded header, and
 * `seal()` for each record in order. It hashes everything it hands out (header included), so the ciphertext's
 * sha256 comes for free. Callers guarantee: every record but the last gets exactly `chunkSize` bytes.
 */
export class EnvelopeSealer {
  readonly header: EnvelopeHeader;
  readonly encodedHeader: Buffer;
  readonly chunkSize: number;
  private readonly aad: Buffer;
  private readonly dataKey: Buffer;
  private readonly noncePrefix: Buffer;
  private readonly hash: Hash = createHash('sha256');
  private recordIndex = 0;
  private outBytes = 0;
  private inBytes = 0;
  private summaryValue: EnvelopeSummary | undefined;

  constructor(ownerPublicKey: KeyInput, options: EncryptOptions = {}) {
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
      ...(options.binding ? { key: options.binding.key, clip: options.binding.clipId } : {}),
    };
    this.encodedHeader = encodeHeader(this.header);
    this.aad = headerDigest(this.encodedHeader);
  }

  /** The header bytes; call once, before the first record. */
  start(): Buffer {
    this.count(this.encodedHeader);
    return this.encodedHeader;
  }

  /** Encrypts one record given as one or more slices; returns ciphertext pieces followed by the tag. */
  seal(parts: readonly Buffer[], last: boolean): Buffer[] {
    if (this.summaryValue) throw new Error('EnvelopeSealer: seal() after the last record');
    const cipher = createCipheriv(
      'aes-256-gcm',
      this.dataKey,
      recordNonce(this.noncePrefix, this.recordIndex, last),
    );
    cipher.setAAD(this.aad);
    const out: Buffer[] = [];
    for (const part of parts) {
      this.inBytes += part.length;
      out.push(this.count(cipher.update(part)));
    }
    const tail = cipher.final();
    if (tail.length > 0) out.push(this.count(tail));
    out.push(this.count(cipher.getAuthTag()));
    this.recordIndex++;
    if (last) this.finish();
    return out;
  }

  /** Size, hash and parameters of the ciphertext; available once the last record is sealed. */
  summary(): EnvelopeSummary {
    if (!this.summaryValue) throw new Error('EnvelopeSealer: summary() before the last record was sealed');
    return this.summaryValue;
  }

  private finish(): void {
    this.dataKey.fill(0);
    this.summaryValue = {
      bytes: this.outBytes,
      sha256: this.hash.digest('hex'),
      plaintextBytes: this.inBytes,
      records: this.recordIndex,
      keyId: this.header.kid,
      wrappedKey: this.header.wk,
      header: this.header,
      metadata: envelopeMetadata(this.header),
    };
  }

  private count(buffer: Buffer): Buffer {
    this.hash.update(buffer);
    this.outBytes += buffer.length;
    return buffer;
  }
}
