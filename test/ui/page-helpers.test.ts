import { describe, expect, it } from 'vitest';
import { mjpegPart } from '../../src/ui/live.js';
import { describeEvent, formatBytes, formatCountdown, formatDuration } from '../../src/ui/static/format.js';
import { FrameRateMeter, MultipartJpegParser } from '../../src/ui/static/live-stream.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('page formatting', () => {
  it('counts down retention in days/hours, hours/minutes, minutes', () => {
    expect(formatCountdown(59 * DAY + 23 * HOUR + 5 * MIN)).toBe('59 d 23 h');
    expect(formatCountdown(DAY)).toBe('1 d 0 h');
    expect(formatCountdown(5 * HOUR + 12 * MIN)).toBe('5 h 12 min');
    expect(formatCountdown(12 * MIN + 30_000)).toBe('12 min');
    expect(formatCountdown(10_000)).toBe('< 1 min');
    expect(formatCountdown(0)).toBe('expired');
    expect(formatCountdown(-5)).toBe('expired');
    expect(formatCountdown(Number.NaN)).toBe('expired');
  });

  it('formats sizes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(391_812)).toBe('392 KB');
    expect(formatBytes(1_400_000)).toBe('1.4 MB');
    expect(formatDuration('2025-01-01T00:00:00.000Z', '2025-01-01T00:00:14.000Z')).toBe('14 s');
    expect(formatDuration('2025-01-01T00:00:00.000Z', '2025-01-01T00:02:05.000Z')).toBe('2 min 5 s');
  });

  it('describes timeline events and skips motion updates', () => {
    const base = { v: 1, id: 'x', seq: 7, deviceId: 'd', at: '2025-01-01T00:00:00.000Z' };
    expect(describeEvent({ kind: 'ding', payload: { ...base, event_type: 'ring', source: 'ui' } })).toEqual({
      title: 'Ding',
      detail: 'pressed via ui · #7',
    });
    const motion = {
      ...base,
      score: 0.42,
      box: { x: 0, y: 0, w: 1, h: 1 },
      zones: ['porch'],
      startedAt: base.at,
    };
    expect(describeEvent({ kind: 'motion', payload: { ...motion, type: 'start' } })?.title).toBe(
      'Motion started',
    );
    expect(describeEvent({ kind: 'motion', payload: { ...motion, type: 'update' } })).toBeUndefined();
    expect(describeEvent({ kind: 'state', payload: {} })).toBeUndefined();
  });
});

describe('live stream parsing in the page', () => {
  it('cuts frames from the server framing however the bytes are chunked', () => {
    const frames = [Buffer.from('first-jpeg'), Buffer.alloc(5000, 7), Buffer.from('\r\n\r\n--doorbellframe')];
    const wire = Buffer.concat(
      frames.map((jpeg, i) => mjpegPart({ jpeg, at: `2025-01-01T00:00:0${i}.000Z` })),
    );
    for (const size of [1, 3, 17, 1000, wire.length]) {
      const seen: Buffer[] = [];
      const parser = new MultipartJpegParser((jpeg) => seen.push(Buffer.from(jpeg)));
      for (let i = 0; i < wire.length; i += size) parser.push(wire.subarray(i, i + size));
      expect(seen, `chunk size ${size}`).toEqual(frames);
    }
  });

  it('refuses a part without Content-Length', () => {
    const parser = new MultipartJpegParser(() => {});
    expect(() => parser.push(Buffer.from('--b\r\nContent-Type: image/jpeg\r\n\r\nxx'))).toThrow(
      /Content-Length/,
    );
  });

  it('measures frames per second over its window', () => {
    const meter = new FrameRateMeter(2000);
    for (let t = 0; t <= 2000; t += 100) meter.tick(t);
    expect(meter.rate(2000)).toBeCloseTo(10, 5);
    // A stalled stream decays, then reads 0 once its frames leave the window.
    expect(meter.rate(3000)).toBeCloseTo(5, 5);
    expect(meter.rate(10_000)).toBe(0);
    const starting = new FrameRateMeter(2000);
    starting.tick(0);
    starting.tick(100);
    expect(starting.rate(100)).toBe(0);
    starting.tick(200);
    starting.tick(300);
    expect(starting.rate(300)).toBeCloseTo(10, 5);
  });
});
