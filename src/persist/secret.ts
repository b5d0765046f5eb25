import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

/** A random 32-byte key kept in a 0600 file: the same across restarts, so links made earlier stay valid. */
export function persistentSecret(path: string): Buffer {
  try {
    const existing = readFileSync(path);
    if (existing.byteLength >= 32) return existing;
  } catch {
    // first run
  }
  const secret = randomBytes(32);
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}
