import { describe, expect, it } from 'vitest';
import {
  assertSafeKey,
  clipObjectKey,
  devicePrefix,
  InvalidKeyError,
  parseClipKey,
  siblingThumbnailKey,
} from '../../src/storage/keys.js';

describe('clip object keys', () => {
  it('builds clips/<device>/<yyyy>/<mm>/<dd>/<clip>.mp4 from the UTC recording date', () => {
    const parts = {
      deviceId: 'front-door',
      clipId: '01HZX3K9Q8',
      recordedAt: '2026-03-31T23:59:59.999-02:00',
    };
    expect(clipObjectKey(parts)).toBe('clips/front-door/2026/04/01/01HZX3K9Q8.mp4');
    expect(clipObjectKey(parts, 'thumbnail')).toBe('clips/front-door/2026/04/01/01HZX3K9Q8.jpg');
    expect(clipObjectKey({ ...parts, recordedAt: Date.UTC(2026, 0, 5) })).toBe(
      'clips/front-door/2026/01/05/01HZX3K9Q8.mp4',
    );
  });

  it('round-trips through parseClipKey and finds the thumbnail', () => {
    const key = 'clips/cam_2/2026/12/31/clip-9.mp4';
    expect(parseClipKey(key)).toEqual({
      deviceId: 'cam_2',
      clipId: 'clip-9',
      kind: 'clip',
      date: '2026/12/31',
    });
    expect(siblingThumbnailKey(key)).toBe('clips/cam_2/2026/12/31/clip-9.jpg');
    expect(parseClipKey('clips/cam/2026/12/31/x.txt')).toBeUndefined();
    expect(siblingThumbnailKey('clips/cam_2/2026/12/31/clip-9.jpg')).toBeUndefined();
    expect(devicePrefix('cam_2')).toBe('clips/cam_2/');
  });

  it.each([
    [{ deviceId: '../etc', clipId: 'c', recordedAt: 0 }, /deviceId "..\/etc" is invalid/],
    [{ deviceId: 'Front', clipId: 'c', recordedAt: 0 }, /deviceId "Front" is invalid/],
    [{ deviceId: 'd'.repeat(65), clipId: 'c', recordedAt: 0 }, /deviceId/],
    [{ deviceId: 'd', clipId: '../../x', recordedAt: 0 }, /clipId "..\/..\/x" is invalid/],
    [{ deviceId: 'd', clipId: 'a/b', recordedAt: 0 }, /clipId "a\/b" is invalid/],
    [{ deviceId: 'd', clipId: 'x.mp4', recordedAt: 0 }, /clipId "x.mp4" is invalid/],
    [{ deviceId: 'd', clipId: '-leading', recordedAt: 0 }, /clipId "-leading" is invalid/],
    [{ deviceId: 'd', clipId: 'nul\0', recordedAt: 0 }, /clipId/],
    [{ deviceId: 'd', clipId: 'c', recordedAt: 'yesterday' }, /recordedAt "yesterday" is not a valid time/],
  ])('refuses unsafe parts %#', (parts, message) => {
    expect(() => clipObjectKey(parts)).toThrow(InvalidKeyError);
    expect(() => clipObjectKey(parts)).toThrow(message);
  });

  it('checks raw keys segment by segment', () => {
    expect(assertSafeKey('clips/a/b.mp4')).toBe('clips/a/b.mp4');
    for (const bad of [
      '',
      '/abs',
      'a/../b',
      'a/./b',
      'a//b',
      'a/',
      'a\\b',
      'a/.hidden',
      'tab\there',
      'x'.repeat(1025),
    ]) {
      expect(() => assertSafeKey(bad), JSON.stringify(bad)).toThrow(InvalidKeyError);
    }
  });
});
