import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Time-limited links for the folder bucket: `/<prefix>/<key>?expires=<unix seconds>&sig=<base64url HMAC-SHA256>`.
 * The MAC covers the decoded key and the expiry, so neither can be changed, and the key is percent-encoded per
 * path segment. (S3 buckets use real presigned URLs instead.)
 */
export type SignedUrlCheck =
  | { ok: true; key: string; expiresAt: number }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

export interface SignOptions {
  /** Path prefix the file server mounts the bucket at, e.g. "/clips-share"; default none. */
  prefix?: string;
}

const MIN_SECRET_BYTES = 16;

export function signUrl(
  key: string,
  expiresAtMs: number,
  secret: string | Buffer,
  options: SignOptions = {},
): string {
  requireSecret(secret);
  const segments = key.split('/');
  if (key === '' || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new Error(`signUrl: invalid object key ${JSON.stringify(key)}`);
  }
  if (!Number.isFinite(expiresAtMs)) throw new Error(`signUrl: invalid expiry ${expiresAtMs}`);
  const expires = Math.floor(expiresAtMs / 1000);
  const path = `${normalisePrefix(options.prefix)}/${segments.map(encodeURIComponent).join('/')}`;
  return `${path}?expires=${expires}&sig=${mac(key, expires, secret).toString('base64url')}`;
}

/** Checks a URL (absolute or path-only) made by signUrl. The signature is checked before the expiry. */
export function verifySignedUrl(
  url: string,
  nowMs: number,
  secret: string | Buffer,
  options: SignOptions = {},
): SignedUrlCheck {
  requireSecret(secret);
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://signed.invalid');
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const prefix = `${normalisePrefix(options.prefix)}/`;
  const expiresText = parsed.searchParams.get('expires');
  const sig = parsed.searchParams.get('sig');
  if (!parsed.pathname.startsWith(prefix) || !expiresText || !/^\d{1,15}$/.test(expiresText) || !sig) {
    return { ok: false, reason: 'malformed' };
  }
  let key: string;
  try {
    key = parsed.pathname.slice(prefix.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const expires = Number(expiresText);
  // Compare the encoded text, not decoded bytes: base64 decoding ignores the spare bits of the last character,
  // which would let several spellings of one signature through.
  const expected = Buffer.from(mac(key, expires, secret).toString('base64url'));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, reason: 'bad-signature' };
  if (nowMs >= expires * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, key, expiresAt: expires * 1000 };
}

function mac(key: string, expires: number, secret: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(`doorbell-signed-url v1\n${key}\n${expires}`).digest();
}

function normalisePrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  return `/${prefix.replace(/^\/+|\/+$/g, '')}`;
}

function requireSecret(secret: string | Buffer): void {
  const bytes = typeof secret === 'string' ? Buffer.byteLength(secret) : secret.length;
  if (bytes < MIN_SECRET_BYTES)
    throw new Error(`signed URL secret must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes})`);
}
