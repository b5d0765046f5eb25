import { createHash } from 'node:crypto';
import { KEY_WRAP_ALGORITHM } from './key-wrap.js';

/**
 * Container layout (all integers big-endian):
 *
 *   magic "\x89DBENV\r\n" (8) ‖ header length (u32) ‖ header JSON (UTF-8) ‖ record 1 ‖ record 2 ‖ … ‖ final record
 *
 * The magic starts with a non-ASCII byte and has no "ftyp" at offset 4, so nothing mistakes the file for an MP4 or
 * for text. Each record is AES-256-GCM ciphertext ‖ 16-byte tag. Every record but the last holds exactly `chunk`
 * plaintext bytes; the last holds 0…chunk bytes, so even an empty clip has one (authenticated) record.
 *
 * Record nonce (12 bytes) = per-file random prefix (7) ‖ record index (u32) ‖ last-record flag (1) — the STREAM
 * construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): reordering changes the index, dropping the tail leaves a
 * record without the last flag, and each record authenticates sha256(magic ‖ length ‖ header) as AAD, so the
 * header cannot be altered either.
 */
export const ENVELOPE_MAGIC = Buffer.from([0x89, 0x44, 0x42, 0x45, 0x4e, 0x56, 0x0d, 0x0a]);
/**
 * v2 headers may carry the object key and clip id they were sealed for; as part of the header they are in every
 * record's AAD, so a v2 object copied over another key is refused rather than opened as the other clip. v1 (no
 * binding) is still read, but a caller that knows which object it reads refuses it unless told to accept it.
 */
export const ENVELOPE_VERSION = 2;
export const LEGACY_ENVELOPE_VERSION = 1;
export const ENVELOPE_CIPHER = 'aes-256-gcm-stream';
export const TAG_BYTES = 16;
export const NONCE_PREFIX_BYTES = 7;
export const DEFAULT_CHUNK_BYTES = 256 * 1024;
export const MIN_CHUNK_BYTES = 1024;
export const MAX_CHUNK_BYTES = 16 * 1024 * 1024;
export const MAX_HEADER_BYTES = 4096;
export const PREAMBLE_BYTES = ENVELOPE_MAGIC.length + 4;

/** Which object an envelope was sealed as. */
export interface EnvelopeBinding {
  /** The bucket object key, e.g. clips/<device>/<yyyy>/<mm>/<dd>/<clip>.mp4. */
  key: string;
  clipId: string;
}

export interface EnvelopeHeader {
  v: typeof ENVELOPE_VERSION | typeof LEGACY_ENVELOPE_VERSION;
  /** v2: the binding, when sealed for a bucket object. */
  key?: string;
  clip?: string;
  cipher: typeof ENVELOPE_CIPHER;
  /** Plaintext bytes per record. */
  chunk: number;
  /** Per-file nonce prefix, base64url of 7 bytes. */
  nonce: string;
  wrap: typeof KEY_WRAP_ALGORITHM;
  /** Owner key id (see ownerKeyId). */
  kid: string;
  /** The data key wrapped to the owner's public key, base64url. */
  wk: string;
}

export function encodeHeader(header: EnvelopeHeader): Buffer {
  // Fixed key order so the same header always gives the same bytes.
  const json = Buffer.from(
    JSON.stringify({
      v: header.v,
      cipher: header.cipher,
      chunk: header.chunk,
      nonce: header.nonce,
      wrap: header.wrap,
      kid: header.kid,
      wk: header.wk,
      ...(header.key === undefined ? {} : { key: header.key, clip: header.clip }),
    }),
  );
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([ENVELOPE_MAGIC, length, json]);
}

export type HeaderLength = { ok: true; length: number } | { ok: false; reason: string };

/** Reads the preamble (magic + header length); `preamble` must hold at least PREAMBLE_BYTES. */
export function readHeaderLength(preamble: Buffer): HeaderLength {
  if (!preamble.subarray(0, ENVELOPE_MAGIC.length).equals(ENVELOPE_MAGIC)) {
    return { ok: false, reason: 'not an encrypted clip (no doorbell envelope signature)' };
  }
  const length = preamble.readUInt32BE(ENVELOPE_MAGIC.length);
  if (length < 2 || length > MAX_HEADER_BYTES) {
    return { ok: false, reason: `envelope header length ${length} is out of range (2…${MAX_HEADER_BYTES})` };
  }
  return { ok: true, length };
}

export type ParsedHeader = { ok: true; header: EnvelopeHeader } | { ok: false; reason: string };

export function parseHeaderJson(json: Buffer): ParsedHeader {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch {
    return { ok: false, reason: 'envelope header is not valid JSON (the file was modified)' };
  }
  if (typeof value !== 'object' || value === null)
    return { ok: false, reason: 'envelope header is not an object' };
  const h = value as Record<string, unknown>;
  const v = h['v'];
  if (v !== ENVELOPE_VERSION && v !== LEGACY_ENVELOPE_VERSION)
    return { ok: false, reason: `envelope version ${String(v)} is not supported` };
  const key = h['key'];
  const clip = h['clip'];
  const bound = key !== undefined || clip !== undefined;
  if (bound && (v === LEGACY_ENVELOPE_VERSION || !isBindingText(key) || !isBindingText(clip)))
    return { ok: false, reason: 'envelope binding (key, clip) is malformed' };
  if (h['cipher'] !== ENVELOPE_CIPHER)
    return { ok: false, reason: `envelope cipher "${String(h['cipher'])}" is not supported` };
  if (h['wrap'] !== KEY_WRAP_ALGORITHM)
    return { ok: false, reason: `key wrap "${String(h['wrap'])}" is not supported` };
  const chunk = h['chunk'];
  if (
    typeof chunk !== 'number' ||
    !Number.isInteger(chunk) ||
    chunk < MIN_CHUNK_BYTES ||
    chunk > MAX_CHUNK_BYTES
  ) {
    return { ok: false, reason: `envelope chunk size ${String(chunk)} is out of range` };
  }
  const nonce = h['nonce'];
  if (typeof nonce !== 'string' || Buffer.from(nonce, 'base64url').length !== NONCE_PREFIX_BYTES) {
    return { ok: false, reason: 'envelope nonce prefix is malformed' };
  }
  const kid = h['kid'];
  if (typeof kid !== 'string' || !/^[0-9a-f]{16}$/.test(kid))
    return { ok: false, reason: 'envelope key id is malformed' };
  const wk = h['wk'];
  if (typeof wk !== 'string' || !/^[A-Za-z0-9_-]+$/.test(wk))
    return { ok: false, reason: 'envelope wrapped key is malformed' };
  return {
    ok: true,
    header: {
      v,
      cipher: ENVELOPE_CIPHER,
      chunk,
      nonce,
      wrap: KEY_WRAP_ALGORITHM,
      kid,
      wk,
      ...(bound ? { key: key as string, clip: clip as string } : {}),
    },
  };
}

function isBindingText(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length > 0 && value.length <= 512 && !/[\u0000-\u001f]/.test(value)
  );
}

export function headerDigest(encodedHeader: Buffer): Buffer {
  return createHash('sha256').update(encodedHeader).digest();
}

export function recordNonce(prefix: Buffer, index: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  prefix.copy(nonce, 0, 0, NONCE_PREFIX_BYTES);
  nonce.writeUInt32BE(index, NONCE_PREFIX_BYTES);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * The envelope parameters as small ASCII strings for object metadata (S3 `x-amz-meta-*`, fs sidecar). The same
 * values are in the file header, so the object stays decryptable without its metadata.
 */
export function envelopeMetadata(header: EnvelopeHeader): Record<string, string> {
  return {
    'enc-format': `doorbell-envelope-v${header.v}`,
    'enc-cipher': `${header.cipher};chunk=${header.chunk};nonce=${header.nonce}`,
    'enc-wrap': header.wrap,
    'enc-key-id': header.kid,
    'enc-wrapped-key': header.wk,
  };
}
