import { describe, expect, it } from 'vitest';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import { ProfileStore } from '../../src/device/profile-store.js';
import { DEFAULT_CLIP_LINK_POLICY, decideClipLink } from '../../src/privacy/clip-links.js';
import { baseProfile } from '../helpers/doorbell.js';

const NOW = Date.UTC(2026, 4, 10, 12, 0, 0, 456);
const plain = { encrypted: false };
const sealed = { encrypted: true };

describe('clip links: when a clip event carries a url, and until when', () => {
  it('by default a plain clip gets a link for 15 minutes from its announcement, in whole seconds', () => {
    const decision = decideClipLink(DEFAULT_CLIP_LINK_POLICY, plain, NOW);
    expect(decision).toEqual({
      give: true,
      signedAtMs: Date.UTC(2026, 4, 10, 12, 0, 0),
      expiresAtMs: Date.UTC(2026, 4, 10, 12, 15, 0),
    });
  });

  it('never announces an expiry later than the one the link enforces, nor longer than the owner allowed', () => {
    for (const ttlMs of [60_000, 61_999, 900_000, 7 * 86_400_000]) {
      for (const now of [NOW, NOW + 999, NOW - 456]) {
        const decision = decideClipLink({ ...DEFAULT_CLIP_LINK_POLICY, ttlMs }, plain, now);
        if (!decision.give) throw new Error('expected a link');
        expect(decision.expiresAtMs % 1000).toBe(0);
        expect(decision.signedAtMs).toBeLessThanOrEqual(now);
        expect(decision.expiresAtMs - decision.signedAtMs).toBeLessThanOrEqual(ttlMs);
        expect(decision.expiresAtMs).toBeGreaterThan(now + ttlMs - 2000);
      }
    }
  });

  it('an end-to-end encrypted clip gets none, unless the owner lets its envelope be linked', () => {
    expect(decideClipLink(DEFAULT_CLIP_LINK_POLICY, sealed, NOW)).toEqual({ give: false, why: 'encrypted' });
    expect(decideClipLink({ ...DEFAULT_CLIP_LINK_POLICY, ciphertext: true }, sealed, NOW)).toMatchObject({
      give: true,
    });
  });

  it('turned off, no clip gets one, encrypted or not, whatever ciphertext says', () => {
    const off = { ...DEFAULT_CLIP_LINK_POLICY, enabled: false, ciphertext: true };
    expect(decideClipLink(off, plain, NOW)).toEqual({ give: false, why: 'disabled' });
    expect(decideClipLink(off, sealed, NOW)).toEqual({ give: false, why: 'disabled' });
  });
});

describe('privacy.clipLinks in the device profile', () => {
  const bundled = DeviceProfileSchema.parse(baseProfile);

  it('defaults to links on, 15 minutes, no link to an encrypted envelope', () => {
    expect(bundled.privacy.clipLinks).toEqual({ enabled: true, ttlMs: 900_000, ciphertext: false });
  });

  it("is the owner's to change with config-set, key by key, within 1 minute .. 7 days", () => {
    const store = new ProfileStore(bundled, undefined);
    expect(store.apply({ privacy: { clipLinks: { enabled: false } } }).privacy.clipLinks).toEqual({
      enabled: false,
      ttlMs: 900_000,
      ciphertext: false,
    });
    expect(store.apply({ privacy: { clipLinks: { ttlMs: 7 * 86_400_000 } } }).privacy.clipLinks.enabled).toBe(
      false,
    );
    for (const bad of [
      { ttlMs: 59_999 },
      { ttlMs: 7 * 86_400_000 + 1 },
      { ttlMs: 1.5e6 + 0.5 },
      { links: true },
    ]) {
      expect(() => store.apply({ privacy: { clipLinks: bad } })).toThrow(
        expect.objectContaining({ code: 'invalid-config' }),
      );
    }
    expect(store.profile.privacy.clipLinks).toEqual({
      enabled: false,
      ttlMs: 7 * 86_400_000,
      ciphertext: false,
    });
  });
});
