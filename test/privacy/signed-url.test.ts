import { describe, expect, it } from 'vitest';
import { signUrl, verifySignedUrl } from '../../src/privacy/signed-url.js';

const SECRET = 'a-test-secret-of-enough-length!!';
const NOW = Date.UTC(2026, 4, 10, 12);
const KEY = 'clips/front door/2026/05/10/clip 1.mp4';

describe('signed URLs for the folder bucket', () => {
  it('verifies a fresh link and returns the key', () => {
    const url = signUrl(KEY, NOW + 3600_000, SECRET);
    expect(url).toMatch(/^\/clips\/front%20door\/2026\/05\/10\/clip%201\.mp4\?expires=\d+&sig=[\w-]+$/);
    expect(verifySignedUrl(url, NOW, SECRET)).toEqual({ ok: true, key: KEY, expiresAt: NOW + 3600_000 });
    expect(verifySignedUrl(`http://doorbell.local:8080${url}`, NOW, SECRET)).toMatchObject({
      ok: true,
      key: KEY,
    });
  });

  it('expires at the expiry time', () => {
    const url = signUrl(KEY, NOW + 1000, SECRET);
    expect(verifySignedUrl(url, NOW + 999, SECRET).ok).toBe(true);
    expect(verifySignedUrl(url, NOW + 1000, SECRET)).toEqual({ ok: false, reason: 'expired' });
  });

  it('rejects a changed key, a pushed-back expiry, a changed signature and another secret', () => {
    const url = signUrl(KEY, NOW + 1000, SECRET);
    const expires = Math.floor((NOW + 1000) / 1000);
    expect(verifySignedUrl(url.replace('clip%201', 'clip%202'), NOW, SECRET)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(
      verifySignedUrl(url.replace(`expires=${expires}`, `expires=${expires + 86400}`), NOW, SECRET),
    ).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    const sig = new URL(url, 'http://x').searchParams.get('sig')!;
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    expect(verifySignedUrl(url.replace(sig, flipped), NOW, SECRET)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifySignedUrl(url.replace(sig, sig.slice(0, 10)), NOW, SECRET)).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    expect(verifySignedUrl(url, NOW, 'another-secret-of-enough-length!')).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
    // A tampered expiry is a bad signature, not "expired", even once it is in the past.
    expect(
      verifySignedUrl(url.replace(`expires=${expires}`, `expires=${expires - 5000}`), NOW, SECRET),
    ).toEqual({
      ok: false,
      reason: 'bad-signature',
    });
  });

  it('rejects malformed links and honours the prefix', () => {
    expect(verifySignedUrl('/clips/x.mp4', NOW, SECRET)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifySignedUrl('/clips/x.mp4?expires=abc&sig=zz', NOW, SECRET)).toEqual({
      ok: false,
      reason: 'malformed',
    });
    const url = signUrl(KEY, NOW + 1000, SECRET, { prefix: '/share/' });
    expect(url.startsWith('/share/clips/')).toBe(true);
    expect(verifySignedUrl(url, NOW, SECRET, { prefix: 'share' })).toMatchObject({ ok: true, key: KEY });
    expect(verifySignedUrl(url, NOW, SECRET, { prefix: 'other' })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses keys that could escape the bucket and short secrets', () => {
    expect(() => signUrl('clips/../secrets', NOW, SECRET)).toThrow(/invalid object key/);
    expect(() => signUrl('/abs', NOW, SECRET)).toThrow(/invalid object key/);
    expect(() => signUrl(KEY, NOW, 'short')).toThrow(/at least 16 bytes/);
  });
});
