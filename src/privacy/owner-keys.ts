import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { UserError } from '../util/user-error.js';

/**
 * Owner keys are X25519 (see key-wrap.ts for why). Public keys travel as SPKI PEM, private keys as PKCS#8 PEM.
 * The key id is the first 8 bytes of sha256(raw 32-byte public key), hex: short enough for object metadata and
 * error messages, long enough to tell two owners' keys apart.
 */
export interface OwnerKeyPair {
  publicKeyPem: string;
  privateKeyPem: string;
}

export type KeyInput = string | Buffer | KeyObject;

export class OwnerKeyError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'OwnerKeyError';
  }
}

export function generateOwnerKeys(): OwnerKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

export function loadOwnerPublicKey(input: KeyInput): KeyObject {
  let key: KeyObject;
  if (isKeyObject(input)) {
    key = input.type === 'private' ? createPublicKey(input) : input;
  } else {
    try {
      // createPublicKey also accepts a private PEM and derives the public half, which is what we want here.
      key = createPublicKey(input);
    } catch (error) {
      throw new OwnerKeyError(`owner public key: not a PEM key (${firstLine(error)})`);
    }
  }
  return requireX25519(key, 'owner public key');
}

export function loadOwnerPrivateKey(input: KeyInput): KeyObject {
  let key: KeyObject;
  if (isKeyObject(input)) {
    key = input;
  } else {
    try {
      key = createPrivateKey(input);
    } catch (error) {
      throw new OwnerKeyError(`owner private key: not a PEM private key (${firstLine(error)})`);
    }
  }
  if (key.type !== 'private')
    throw new OwnerKeyError('owner private key: got a public key, need the private key');
  return requireX25519(key, 'owner private key');
}

/** The raw 32-byte X25519 public key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string')
    throw new OwnerKeyError('owner key: cannot export the raw X25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export function ownerKeyId(key: KeyInput): string {
  const publicKey = loadOwnerPublicKey(key);
  return createHash('sha256').update(rawPublicKey(publicKey)).digest('hex').slice(0, 16);
}

function requireX25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'x25519') {
    throw new OwnerKeyError(`${what}: must be an X25519 key (got ${key.asymmetricKeyType ?? 'unknown'})`);
  }
  return key;
}

function isKeyObject(input: KeyInput): input is KeyObject {
  return typeof input === 'object' && !Buffer.isBuffer(input) && 'asymmetricKeyType' in input;
}

function firstLine(error: unknown): string {
  return String((error as Error).message ?? error).split('\n')[0] ?? 'unknown error';
}
