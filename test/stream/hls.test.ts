import { describe, expect, it } from 'vitest';
import { codecString, initSegment, mediaSegment, TIMESCALE } from '../../src/stream/hls/fmp4.js';
import { HlsSegmenter } from '../../src/stream/hls/segmenter.js';
import type { AccessUnit, StreamInfo } from '../../src/stream/live-video.js';

interface Box {
  type: string;
  /** Payload, after the 8-byte header. */
  body: Buffer;
  children?: Box[];
}

const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'moof', 'traf', 'dinf']);

/** A strict reader: every size must add up exactly, or it throws. */
function parseBoxes(bytes: Buffer): Box[] {
  const boxes: Box[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = bytes.readUInt32BE(at);
    if (size < 8 || at + size > bytes.length) throw new Error(`bad box size ${size} at ${at}`);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const body = bytes.subarray(at + 8, at + size);
    boxes.push(CONTAINERS.has(type) ? { type, body, children: parseBoxes(body) } : { type, body });
    at += size;
  }
  return boxes;
}

function tree(boxes: Box[]): unknown[] {
  return boxes.map((box) => (box.children ? { [box.type]: tree(box.children) } : box.type));
}

function find(boxes: Box[], path: string): Box {
  const [head, ...rest] = path.split('.');
  const box = boxes.find((candidate) => candidate.type === head);
  if (!box) throw new Error(`no ${head}`);
  return rest.length ? find(box.children ?? [], rest.join('.')) : box;
}

// A real x264 SPS/PPS (Constrained Baseline is enough for the boxes; the bytes only have to be carried).
const SPS = Buffer.from('6742c01eda0280bfe5c044000003000400000300f03c58ba80', 'hex');
const PPS = Buffer.from('68ce3c80', 'hex');
const INFO: StreamInfo = { name: 'main', width: 640, height: 360, fps: 10, sps: SPS, pps: PPS };

function unit(index: number, keyframe: boolean, bytes = 100): AccessUnit {
  const slice = Buffer.alloc(bytes, index % 200);
  slice[0] = keyframe ? 0x65 : 0x41;
  const nals = keyframe ? [SPS, PPS, slice] : [slice];
  return { nals, keyframe, ptsMs: index * 100, feedMs: 5_000 + index * 100 };
}

/** Ten pictures a second, a keyframe every `gop`. */
function units(count: number, gop = 10): AccessUnit[] {
  return Array.from({ length: count }, (_, i) => unit(i, i % gop === 0));
}

describe('fMP4 muxer', () => {
  it('writes an init segment with the box layout players expect and the avcC from the SPS/PPS', () => {
    const boxes = parseBoxes(initSegment(INFO));
    expect(tree(boxes)).toEqual([
      'ftyp',
      {
        moov: [
          'mvhd',
          {
            trak: [
              'tkhd',
              {
                mdia: [
                  'mdhd',
                  'hdlr',
                  { minf: ['vmhd', { dinf: ['dref'] }, { stbl: ['stsd', 'stts', 'stsc', 'stsz', 'stco'] }] },
                ],
              },
            ],
          },
          { mvex: ['trex'] },
        ],
      },
    ]);
    const tkhd = find(boxes, 'moov.trak.tkhd').body;
    expect([tkhd.readUInt32BE(76) >>> 16, tkhd.readUInt32BE(80) >>> 16]).toEqual([640, 360]);
    expect(find(boxes, 'moov.trak.mdia.mdhd').body.readUInt32BE(12)).toBe(TIMESCALE);
    const stsd = find(boxes, 'moov.trak.mdia.minf.stbl.stsd').body;
    const avc1 = parseBoxes(stsd.subarray(8))[0]!;
    expect(avc1.type).toBe('avc1');
    expect([avc1.body.readUInt16BE(24), avc1.body.readUInt16BE(26)]).toEqual([640, 360]);
    const avcC = parseBoxes(avc1.body.subarray(78))[0]!;
    expect(avcC.type).toBe('avcC');
    const config = avcC.body;
    expect([...config.subarray(0, 6)]).toEqual([1, 0x42, 0xc0, 0x1e, 0xff, 0xe1]);
    expect(config.subarray(8, 8 + SPS.length)).toEqual(SPS);
    expect(config.subarray(8 + SPS.length + 3)).toEqual(PPS);
    expect(codecString(SPS)).toBe('avc1.42c01e');
  });

  it('writes moof + mdat whose data offset, sizes, durations and sync flags describe the samples', () => {
    const samples = [
      { nals: [SPS, PPS, Buffer.from([0x65, 1, 2, 3])], decodeTime: 9_000, duration: 3_000, keyframe: true },
      { nals: [Buffer.from([0x41, 4, 5])], decodeTime: 12_000, duration: 6_000, keyframe: false },
    ];
    const bytes = mediaSegment(7, samples);
    const boxes = parseBoxes(bytes);
    expect(tree(boxes)).toEqual([{ moof: ['mfhd', { traf: ['tfhd', 'tfdt', 'trun'] }] }, 'mdat']);
    expect(find(boxes, 'moof.mfhd').body.readUInt32BE(4)).toBe(7);
    expect(find(boxes, 'moof.traf.tfdt').body.readBigUInt64BE(4)).toBe(9_000n);
    const trun = find(boxes, 'moof.traf.trun').body;
    expect(trun.readUInt32BE(4)).toBe(2);
    const dataOffset = trun.readInt32BE(8);
    const mdat = find(boxes, 'mdat');
    // The offset counts from the moof's first byte and lands on the first sample's first byte.
    expect(dataOffset).toBe(bytes.length - mdat.body.length);
    const perSample = [0, 1].map((i) => [
      trun.readUInt32BE(12 + i * 12),
      trun.readUInt32BE(16 + i * 12),
      trun.readUInt32BE(20 + i * 12),
    ]);
    // SPS/PPS stay in the avcC: the keyframe sample is its slice alone, with a 4-byte length.
    expect(perSample).toEqual([
      [3_000, 8, 0x0200_0000],
      [6_000, 7, 0x0101_0000],
    ]);
    expect([...mdat.body]).toEqual([0, 0, 0, 4, 0x65, 1, 2, 3, 0, 0, 0, 3, 0x41, 4, 5]);
  });
});

describe('HLS segmenter', () => {
  it('cuts a segment at each keyframe and none before the next keyframe arrives', () => {
    const segmenter = new HlsSegmenter(INFO);
    const completed = units(35)
      .map((u) => segmenter.push(u))
      .filter((s) => s !== undefined);
    expect(completed.map((s) => [s.sequence, s.frames, s.startPtsMs, s.durationMs, s.startFeedMs])).toEqual([
      [0, 10, 0, 1000, 5000],
      [1, 10, 1000, 1000, 6000],
      [2, 10, 2000, 1000, 7000],
    ]);
    // Every segment begins with its keyframe: the first trun sample carries the sync flags.
    for (const segment of completed) {
      const trun = find(parseBoxes(segment.bytes), 'moof.traf.trun').body;
      expect(trun.readUInt32BE(20)).toBe(0x0200_0000);
      expect(trun.readUInt32BE(32)).toBe(0x0101_0000);
    }
  });

  it('keeps media time running forward when the encoder restarts at 0', () => {
    const segmenter = new HlsSegmenter(INFO);
    for (const u of [...units(20), ...units(21)]) segmenter.push(u);
    expect(segmenter.segments.map((s) => [s.startPtsMs, s.durationMs, s.startFeedMs])).toEqual([
      [0, 1000, 5000],
      [1000, 1000, 6000],
      [2000, 1000, 5000],
      [3000, 1000, 6000],
    ]);
  });

  it('drops pictures before the first keyframe', () => {
    const segmenter = new HlsSegmenter(INFO);
    for (const u of units(25).slice(3)) segmenter.push(u);
    expect(segmenter.droppedUnits).toBe(7);
    expect(segmenter.segments.map((s) => s.startPtsMs)).toEqual([1000]);
  });

  it('keeps only the newest segments: memory stays bounded however long it runs', () => {
    const segmenter = new HlsSegmenter(INFO, { keepSegments: 4 });
    const sizes: number[] = [];
    units(10 * 200 + 1).forEach((u, i) => {
      segmenter.push(u);
      if (i % 100 === 0) sizes.push(segmenter.bufferedBytes);
    });
    expect(segmenter.segments.map((s) => s.sequence)).toEqual([196, 197, 198, 199]);
    expect(segmenter.segment(195)).toBeUndefined();
    expect(Math.max(...sizes)).toBeLessThan(6 * 10 * 120 + 10_000);
  });

  it('drops a group of pictures that never ends instead of growing without bound', () => {
    const segmenter = new HlsSegmenter(INFO, { maxSegmentFrames: 50 });
    for (const u of units(200, 1_000)) segmenter.push(u);
    expect(segmenter.droppedSegments).toBe(1);
    expect(segmenter.bufferedBytes).toBe(0);
  });

  it('writes a live version-7 playlist with the map, sequence, target duration and device-clock dates', () => {
    const segmenter = new HlsSegmenter(INFO, {
      keepSegments: 3,
      deviceMsOf: (feedMs) => Date.parse('2026-12-03T18:00:00.000Z') + feedMs,
    });
    for (const u of [...units(50), unit(50, true)]) segmenter.push(u);
    // A long last group raises the target duration, which never shrinks afterwards.
    for (let i = 51; i < 74; i++) segmenter.push(unit(i, false));
    segmenter.push(unit(74, true));
    expect(segmenter.playlist()).toBe(
      [
        '#EXTM3U',
        '#EXT-X-VERSION:7',
        '#EXT-X-TARGETDURATION:3',
        '#EXT-X-MEDIA-SEQUENCE:3',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="init.mp4"',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-03T18:00:08.000Z',
        '#EXTINF:1.000,',
        'seg-3.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-03T18:00:09.000Z',
        '#EXTINF:1.000,',
        'seg-4.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2026-12-03T18:00:10.000Z',
        '#EXTINF:2.400,',
        'seg-5.m4s',
        '',
      ].join('\n'),
    );
  });
});
