import { describe, expect, it } from 'vitest';
import { initSegment, mediaSegment, TIMESCALE } from '../../src/stream/hls/fmp4.js';
import { HlsSegmenter } from '../../src/stream/hls/segmenter.js';
import type { AccessUnit, StreamInfo } from '../../src/stream/live-video.js';
import {
  baseDecodeTime,
  DeviceTimeline,
  describeInit,
  parsePlaylist,
} from '../../src/ui/static/hls-player.js';
import { MotionTrack } from '../../src/ui/static/motion-overlay.js';

const SPS = Buffer.from('6764001facd9402805bb0110000003001000000303c0f18319a0', 'hex');
const PPS = Buffer.from('68ebe3cb22c0', 'hex');
const INFO: StreamInfo = { name: 'main', width: 1280, height: 720, fps: 10, sps: SPS, pps: PPS };
const T0 = Date.parse('2026-12-03T18:00:00.000Z');

function unit(index: number): AccessUnit {
  const keyframe = index % 10 === 0;
  const slice = Buffer.from([keyframe ? 0x65 : 0x41, index]);
  return {
    nals: keyframe ? [SPS, PPS, slice] : [slice],
    keyframe,
    ptsMs: index * 100,
    feedMs: 60_000 + index * 100,
  };
}

/** The console's player reads what the segmenter writes. */
describe('console HLS player: playlist and boxes', () => {
  it('reads the live playlist: sequence numbers, URLs, durations and device-clock dates', () => {
    const segmenter = new HlsSegmenter(INFO, { keepSegments: 3, deviceMsOf: (feedMs) => T0 + feedMs });
    for (let i = 0; i <= 50; i++) segmenter.push(unit(i));
    const playlist = parsePlaylist(segmenter.playlist(), 'http://127.0.0.1:8080/front-door/hls/index.m3u8');
    expect(playlist.map).toBe('http://127.0.0.1:8080/front-door/hls/init.mp4');
    expect(playlist.targetDurationS).toBe(1);
    expect(playlist.segments).toEqual(
      [2, 3, 4].map((sequence) => ({
        sequence,
        uri: `http://127.0.0.1:8080/front-door/hls/seg-${sequence}.m4s`,
        durationS: 1,
        programDateMs: T0 + 60_000 + sequence * 1000,
      })),
    );
    expect(() => parsePlaylist('<html>', 'http://x/')).toThrow(/not an HLS playlist/);
  });

  it('reads the codec and timescale from the init segment and the start time from a media segment', () => {
    expect(describeInit(new Uint8Array(initSegment(INFO)))).toEqual({
      codec: 'avc1.64001f',
      timescale: TIMESCALE,
    });
    const segment = mediaSegment(3, [
      { nals: [Buffer.from([0x65, 1])], decodeTime: 123_456, duration: 9000, keyframe: true },
    ]);
    expect(baseDecodeTime(new Uint8Array(segment))).toBe(123_456);
  });

  it('maps media time to device time through the segment it falls in', () => {
    const timeline = new DeviceTimeline();
    timeline.add(2, T0 + 10_000);
    timeline.add(1, T0 + 9_000);
    timeline.add(3, undefined);
    expect(timeline.deviceMsAt(0.5)).toBeUndefined();
    expect(timeline.deviceMsAt(1)).toBe(T0 + 9_000);
    expect(timeline.deviceMsAt(2.25)).toBe(T0 + 10_250);
  });

  it('picks the box of the event whose span covers the frame, none outside a visit', () => {
    const track = new MotionTrack();
    const box = (x: number) => ({ x, y: 0.2, w: 0.1, h: 0.5 });
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    track.add({ at: at(1000), type: 'start', box: box(0.1) });
    track.add({ at: at(3000), type: 'update', box: box(0.3) }); // arrived out of order: sorted by time
    track.add({ at: at(2000), type: 'update', box: box(0.2) });
    track.add({ at: at(4000), type: 'end', box: box(0) });
    expect(track.boxAt(T0 + 500)).toBeUndefined();
    expect(track.boxAt(T0 + 1000)?.x).toBe(0.1); // the frame the start is dated by
    expect(track.boxAt(T0 + 1005)?.x).toBe(0.2); // the update at 2 s covers 1 s … 2 s
    expect(track.boxAt(T0 + 1999)?.x).toBe(0.2);
    expect(track.boxAt(T0 + 2000)?.x).toBe(0.2);
    expect(track.boxAt(T0 + 2500)?.x).toBe(0.3);
    expect(track.boxAt(T0 + 3500)?.x).toBe(0.3); // after the last update: its box until the end
    expect(track.boxAt(T0 + 4000)).toBeUndefined();
    expect(track.boxAt(undefined)).toBeUndefined();
    // A visit whose end never came fades out instead of sticking.
    track.add({ at: at(10_000), type: 'start', box: box(0.5) });
    expect(track.boxAt(T0 + 11_000)?.x).toBe(0.5);
    expect(track.boxAt(T0 + 14_000)).toBeUndefined();
  });
});
