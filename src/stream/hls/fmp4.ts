/**
 * Fragmented MP4 (ISO/IEC 14496-12 + 14496-15) for one H.264 track, as HLS (RFC 8216 §3.3) and Media Source
 * Extensions want it: an init segment (ftyp + moov with the avcC from the stream's SPS/PPS, no samples) and media
 * segments (moof + mdat) that carry the encoder's access units unchanged, only re-framed from start codes to 4-byte
 * lengths. Pure: bytes in, bytes out.
 */
import { NAL_TYPE, nalType } from '../h264/annex-b.js';

/** Media timescale: the MPEG 90 kHz clock, so any fps gives whole-tick durations to within a tick. */
export const TIMESCALE = 90_000;
export const TRACK_ID = 1;

/** sample_depends_on = 2 (an IDR depends on nothing). */
const SYNC_SAMPLE_FLAGS = 0x0200_0000;
/** sample_depends_on = 1, sample_is_non_sync_sample = 1. */
const NON_SYNC_SAMPLE_FLAGS = 0x0101_0000;
const UNITY_MATRIX = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

export interface TrackInfo {
  width: number;
  height: number;
  sps: Buffer;
  pps: Buffer;
}

export interface Sample {
  /** NAL units of one coded picture, without start codes. */
  nals: readonly Buffer[];
  /** Decode time in TIMESCALE ticks. */
  decodeTime: number;
  /** In TIMESCALE ticks. */
  duration: number;
  keyframe: boolean;
}

export function box(type: string, ...payload: Buffer[]): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + payload.reduce((sum, part) => sum + part.length, 0), 0);
  header.write(type, 4, 4, 'latin1');
  return Buffer.concat([header, ...payload]);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xff_ffff), 0);
  return box(type, head, ...payload);
}

function u32s(...values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  for (const [i, value] of values.entries()) bytes.writeUInt32BE(value >>> 0, i * 4);
  return bytes;
}

function u16s(...values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 2);
  for (const [i, value] of values.entries()) bytes.writeUInt16BE(value & 0xffff, i * 2);
  return bytes;
}

/** The RFC 6381 codec string browsers check (`MediaSource.isTypeSupported`): avc1.PPCCLL from the SPS. */
export function codecString(sps: Buffer): string {
  const hex = (byte: number | undefined) => (byte ?? 0).toString(16).padStart(2, '0');
  return `avc1.${hex(sps[1])}${hex(sps[2])}${hex(sps[3])}`;
}

/** AVCDecoderConfigurationRecord: one SPS, one PPS, 4-byte NAL lengths. */
function avcC(sps: Buffer, pps: Buffer): Buffer {
  return box(
    'avcC',
    Buffer.from([1, sps[1] ?? 0, sps[2] ?? 0, sps[3] ?? 0, 0xfc | 3, 0xe0 | 1]),
    u16s(sps.length),
    sps,
    Buffer.from([1]),
    u16s(pps.length),
    pps,
  );
}

function avc1(track: TrackInfo): Buffer {
  const compressorName = Buffer.alloc(32);
  return box(
    'avc1',
    Buffer.alloc(6), // reserved
    u16s(1), // data_reference_index
    Buffer.alloc(16), // pre_defined, reserved
    u16s(track.width, track.height),
    u32s(0x0048_0000, 0x0048_0000, 0), // 72 dpi, reserved
    u16s(1), // frame_count
    compressorName,
    u16s(0x0018, 0xffff), // depth, pre_defined = -1
    avcC(track.sps, track.pps),
  );
}

/** ftyp + moov: what a player needs before the first media segment. */
export function initSegment(track: TrackInfo): Buffer {
  const ftyp = box(
    'ftyp',
    Buffer.from('iso5', 'latin1'),
    u32s(0x200),
    Buffer.from('iso5iso6avc1mp41', 'latin1'),
  );
  const mvhd = fullBox(
    'mvhd',
    0,
    0,
    u32s(0, 0, 1000, 0, 0x0001_0000), // created, modified, timescale, duration, rate
    u16s(0x0100, 0), // volume, reserved
    Buffer.alloc(8),
    u32s(...UNITY_MATRIX),
    Buffer.alloc(24),
    u32s(TRACK_ID + 1),
  );
  const tkhd = fullBox(
    'tkhd',
    0,
    0x3, // enabled, in movie
    u32s(0, 0, TRACK_ID, 0, 0),
    Buffer.alloc(8),
    u16s(0, 0, 0, 0), // layer, alternate group, volume, reserved
    u32s(...UNITY_MATRIX),
    u32s(track.width * 0x1_0000, track.height * 0x1_0000),
  );
  const mdhd = fullBox('mdhd', 0, 0, u32s(0, 0, TIMESCALE, 0), u16s(0x55c4, 0)); // language "und"
  const hdlr = fullBox(
    'hdlr',
    0,
    0,
    u32s(0),
    Buffer.from('vide', 'latin1'),
    Buffer.alloc(12),
    Buffer.from('VideoHandler\0', 'latin1'),
  );
  const vmhd = fullBox('vmhd', 0, 1, Buffer.alloc(8));
  const dinf = box('dinf', fullBox('dref', 0, 0, u32s(1), fullBox('url ', 0, 1)));
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32s(1), avc1(track)),
    fullBox('stts', 0, 0, u32s(0)),
    fullBox('stsc', 0, 0, u32s(0)),
    fullBox('stsz', 0, 0, u32s(0, 0)),
    fullBox('stco', 0, 0, u32s(0)),
  );
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, box('minf', vmhd, dinf, stbl)));
  const mvex = box('mvex', fullBox('trex', 0, 0, u32s(TRACK_ID, 1, 0, 0, 0)));
  return Buffer.concat([ftyp, box('moov', mvhd, trak, mvex)]);
}

/** A picture's NAL units with 4-byte lengths; parameter sets and delimiters stay out (the avcC has them). */
function sampleData(nals: readonly Buffer[]): Buffer[] {
  const parts: Buffer[] = [];
  for (const nal of nals) {
    const type = nalType(nal);
    if (type === NAL_TYPE.sps || type === NAL_TYPE.pps || type === NAL_TYPE.accessUnitDelimiter) continue;
    parts.push(u32s(nal.length), nal);
  }
  return parts;
}

/** moof + mdat for consecutive samples of the track; `sequence` counts fragments from 1. */
export function mediaSegment(sequence: number, samples: readonly Sample[]): Buffer {
  if (samples.length === 0) throw new Error('a media segment needs at least one sample');
  const data = samples.map((sample) => sampleData(sample.nals));
  const sizes = data.map((parts) => parts.reduce((sum, part) => sum + part.length, 0));
  const trunFor = (dataOffset: number) =>
    fullBox(
      'trun',
      0,
      0x000001 | 0x000100 | 0x000200 | 0x000400, // data offset; per-sample duration, size, flags
      u32s(samples.length, dataOffset),
      ...samples.map((sample, i) =>
        u32s(sample.duration, sizes[i]!, sample.keyframe ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS),
      ),
    );
  const baseTime = Buffer.alloc(8);
  baseTime.writeBigUInt64BE(BigInt(samples[0]!.decodeTime));
  const moofWith = (dataOffset: number) =>
    box(
      'moof',
      fullBox('mfhd', 0, 0, u32s(sequence)),
      box(
        'traf',
        fullBox('tfhd', 0, 0x02_0000, u32s(TRACK_ID)), // default-base-is-moof
        fullBox('tfdt', 1, 0, baseTime),
        trunFor(dataOffset),
      ),
    );
  // The data offset counts from the moof's first byte to the first sample: the moof, then mdat's 8-byte header.
  const moofSize = moofWith(0).length;
  return Buffer.concat([moofWith(moofSize + 8), box('mdat', ...data.flat())]);
}
