import {
  createCipheriv,
  createDecipheriv,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { publicKeyFromRaw, rawPublicKey } from './owner-keys.js';

/**
 * Wraps a clip's data key to the owner's public key: ephemeral-static X25519 ECDH → HKDF-SHA256 → AES-256-GCM.
 *
 * Why X25519 rather than RSA-OAEP: the wrapped key must fit in object metadata (S3 allows 2 KB for all user
 * metadata). X25519 gives a 92-byte blob (123 base64url chars) against 384 bytes for RSA-3072 at similar strength;
 * key generation is instant on a small device; a fresh ephemeral key per clip means every clip gets its own
 * wrapping key, so the GCM wrap never reuses a (key, nonce) pair; and there is no padding oracle surface.
 *
 * Blob layout: ephemeral public key (32) ‖ nonce (12) ‖ encrypted data key (32) ‖ tag (16).
 */
export const KEY_WRAP_ALGORITHM = 'x25519-hkdf-sha256-a256gcm';
const HKDF_INFO = Buffer.from('doorbell-envelope v1 data-key wrap');
const DATA_KEY_BYTES = 32;
const WRAPPED_BYTES = 32 + 12 + DATA_KEY_BYTES + 16;

export function wrapDataKey(dataKey: Buffer, ownerPublicKey: KeyObject, keyId: string): string {
  if (dataKey.length !== DATA_KEY_BYTES) throw new Error(`data key must be ${DATA_KEY_BYTES} bytes`);
  const ephemeral = generateKeyPairSync('x25519');
  const ephemeralRaw = rawPublicKey(ephemeral.publicKey);
  const wrappingKey = deriveWrappingKey(
    diffieHellman({ privateKey: ephemeral.privateKey, publicKey: ownerPublicKey }),
    ephemeralRaw,
    rawPublicKey(ownerPublicKey),
  );
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey, nonce);
  cipher.setAAD(wrapAad(keyId));
  const encrypted = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([ephemeralRaw, nonce, encrypted, cipher.getAuthTag()]).toString('base64url');
}

/** Returns the data key, or undefined when the blob does not open with this private key. */
export function unwrapDataKey(
  wrapped: string,
  ownerPrivateKey: KeyObject,
  keyId: string,
): Buffer | undefined {
  const blob = Buffer.from(wrapped, 'base64url');
  if (blob.length !== WRAPPED_BYTES) return undefined;
  const ephemeralRaw = blob.subarray(0, 32);
  const nonce = blob.subarray(32, 44);
  const encrypted = blob.subarray(44, 44 + DATA_KEY_BYTES);
  const tag = blob.subarray(44 + DATA_KEY_BYTES);
  try {
    const wrappingKey = deriveWrappingKey(
      diffieHellman({ privateKey: ownerPrivateKey, publicKey: publicKeyFromRaw(ephemeralRaw) }),
      ephemeralRaw,
      rawPublicKey(ownerPrivateKey),
    );
    const decipher = createDecipheriv('aes-256-gcm', wrappingKey, nonce);
    decipher.setAAD(wrapAad(keyId));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(encrypted), decipher.final()]);
  } catch {
    return undefined;
  }
}

function deriveWrappingKey(sharedSecret: Buffer, ephemeralRaw: Buffer, ownerRaw: Buffer): Buffer {
  // Both public keys go into the salt so the wrapping key is bound to this exact sender/recipient pair.
  return Buffer.from(
    hkdfSync('sha256', sharedSecret, Buffer.concat([ephemeralRaw, ownerRaw]), HKDF_INFO, 32),
  );
}

function wrapAad(keyId: string): Buffer {
  return Buffer.from(`${KEY_WRAP_ALGORITHM}|${keyId}`);
}
