/**
 * Live HLS from one encoded stream: access units in, a media segment per group of pictures (keyframe to keyframe)
 * out, a sliding window of the newest few kept, and the live playlist (RFC 8216, version 7: fMP4 with EXT-X-MAP).
 * Pure: no clock, no I/O; the caller says how feed time maps to the device's clock.
 */
import type { AccessUnit, StreamInfo } from '../live-video.js';
import { initSegment, mediaSegment, type Sample, TIMESCALE } from './fmp4.js';

export interface HlsSegment {
  /** Media sequence number (EXT-X-MEDIA-SEQUENCE counts these). */
  sequence: number;
  durationMs: number;
  /** The first picture's stream time and the camera feed time it shows. */
  startPtsMs: number;
  startFeedMs: number;
  /** Device-clock time of the first picture (EXT-X-PROGRAM-DATE-TIME): the timeline motion events' `at` is on. */
  programDateMs: number;
  frames: number;
  /** moof + mdat. */
  bytes: Buffer;
}

export interface HlsSegmenterOptions {
  /** Segments kept for the playlist; older ones are dropped (and their URLs answer 404). */
  keepSegments?: number;
  /** A group of pictures longer than this many frames or bytes is dropped whole, and the next keyframe awaited. */
  maxSegmentFrames?: number;
  maxSegmentBytes?: number;
  /** Device-clock ms of a feed time; the identity when absent. */
  deviceMsOf?: (feedMs: number) => number;
}

export const HLS_FILES = { playlist: 'index.m3u8', init: 'init.mp4' } as const;

export function segmentFileName(sequence: number): string {
  return `seg-${sequence}.m4s`;
}

export class HlsSegmenter {
  readonly init: Buffer;
  private readonly keep: number;
  private readonly maxFrames: number;
  private readonly maxBytes: number;
  private readonly deviceMsOf: (feedMs: number) => number;
  private readonly window: HlsSegment[] = [];
  private pending: AccessUnit[] = [];
  private pendingBytes = 0;
  private nextSequence = 0;
  /** Added to the encoder's ptsMs so media time never runs backwards (an encoder restart starts again at 0). */
  private ptsOffsetMs = 0;
  private lastPtsMs: number | undefined;
  /** Longest segment so far, in whole seconds: EXT-X-TARGETDURATION may never shrink. */
  private targetDurationS = 1;
  /** Groups of pictures dropped for being too long, and pictures that came before any keyframe. */
  droppedSegments = 0;
  droppedUnits = 0;

  constructor(
    readonly info: StreamInfo,
    options: HlsSegmenterOptions = {},
  ) {
    this.init = initSegment(info);
    this.keep = Math.max(2, options.keepSegments ?? 6);
    this.maxFrames = options.maxSegmentFrames ?? Math.max(1, Math.round(info.fps * 10));
    this.maxBytes = options.maxSegmentBytes ?? 8 << 20;
    this.deviceMsOf = options.deviceMsOf ?? ((feedMs) => feedMs);
  }

  /** Adds one access unit; returns the segment it completed, if it began a new group of pictures. */
  push(encoded: AccessUnit): HlsSegment | undefined {
    const unit = this.continuous(encoded);
    let completed: HlsSegment | undefined;
    if (unit.keyframe && this.pending.length > 0) completed = this.close(unit.ptsMs);
    if (!unit.keyframe && this.pending.length === 0) {
      this.droppedUnits++;
      return completed;
    }
    this.pending.push(unit);
    this.pendingBytes += unit.nals.reduce((sum, nal) => sum + nal.length + 4, 0);
    if (this.pending.length > this.maxFrames || this.pendingBytes > this.maxBytes) {
      this.droppedSegments++;
      this.droppedUnits += this.pending.length;
      this.pending = [];
      this.pendingBytes = 0;
    }
    return completed;
  }

  private continuous(unit: AccessUnit): AccessUnit {
    let ptsMs = unit.ptsMs + this.ptsOffsetMs;
    if (this.lastPtsMs !== undefined && ptsMs <= this.lastPtsMs) {
      const next = this.lastPtsMs + 1000 / this.info.fps;
      this.ptsOffsetMs += next - ptsMs;
      ptsMs = next;
    }
    this.lastPtsMs = ptsMs;
    return ptsMs === unit.ptsMs ? unit : { ...unit, ptsMs };
  }

  get segments(): readonly HlsSegment[] {
    return this.window;
  }

  segment(sequence: number): HlsSegment | undefined {
    return this.window.find((segment) => segment.sequence === sequence);
  }

  /** Bytes held: the kept segments and the group of pictures being built. */
  get bufferedBytes(): number {
    return this.window.reduce((sum, segment) => sum + segment.bytes.length, 0) + this.pendingBytes;
  }

  /** `query` (e.g. "?token=…") goes on every URI the playlist names. */
  playlist(query = ''): string {
    return livePlaylist(this.window, this.targetDurationS, query);
  }

  private close(endPtsMs: number): HlsSegment {
    const units = this.pending;
    const ticks = (ms: number) => Math.round((ms * TIMESCALE) / 1000);
    const samples: Sample[] = units.map((unit, i) => {
      const decodeTime = ticks(unit.ptsMs);
      const next = i + 1 < units.length ? units[i + 1]!.ptsMs : endPtsMs;
      return {
        nals: unit.nals,
        decodeTime,
        duration: Math.max(1, ticks(next) - decodeTime),
        keyframe: unit.keyframe,
      };
    });
    const sequence = this.nextSequence++;
    const first = units[0]!;
    const segment: HlsSegment = {
      sequence,
      durationMs: Math.max(1, endPtsMs - first.ptsMs),
      startPtsMs: first.ptsMs,
      startFeedMs: first.feedMs,
      programDateMs: this.deviceMsOf(first.feedMs),
      frames: units.length,
      bytes: mediaSegment(sequence + 1, samples),
    };
    this.pending = [];
    this.pendingBytes = 0;
    this.window.push(segment);
    while (this.window.length > this.keep) this.window.shift();
    this.targetDurationS = Math.max(this.targetDurationS, Math.ceil(segment.durationMs / 1000 - 0.001));
    return segment;
  }
}

/**
 * The live media playlist: no EXT-X-ENDLIST (more is coming), and each segment dated with EXT-X-PROGRAM-DATE-TIME
 * so a player can tell which device-clock instant (and so which motion event) the picture it shows belongs to.
 */
export function livePlaylist(segments: readonly HlsSegment[], targetDurationS: number, query = ''): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${targetDurationS}`,
    `#EXT-X-MEDIA-SEQUENCE:${segments[0]?.sequence ?? 0}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-MAP:URI="${HLS_FILES.init}${query}"`,
  ];
  for (const segment of segments) {
    lines.push(
      `#EXT-X-PROGRAM-DATE-TIME:${new Date(segment.programDateMs).toISOString()}`,
      `#EXTINF:${(segment.durationMs / 1000).toFixed(3)},`,
      `${segmentFileName(segment.sequence)}${query}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
