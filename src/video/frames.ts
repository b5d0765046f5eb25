/** One decoded frame at analysis size: 8-bit luma, row-major, `width * height` bytes. */
export interface GrayFrame {
  /** 0-based position in the decoded sequence; keeps counting across loops. */
  index: number;
  /** Presentation time read from the file, ms; in loop mode it keeps increasing across loops. */
  ptsMs: number;
  width: number;
  height: number;
  /** Owned by the consumer: the decoder never writes to it again. */
  data: Uint8Array;
}

/**
 * Cuts a byte stream into frames, copying each byte once, straight into a frame buffer. Bytes that come before the
 * frame size is known wait in a staging list. Frame buffers handed back with `recycle` are filled again, so a
 * steady stream allocates nothing.
 */
export class FrameAssembler {
  private frameBytes = 0;
  private staged: Uint8Array[] = [];
  private stagedBytes = 0;
  private filling: Uint8Array | undefined;
  private filled = 0;
  private readonly complete: Uint8Array[] = [];
  private completeHead = 0;
  private readonly spare: Uint8Array[] = [];

  constructor(private readonly maxSpare = 4) {}

  /** Bytes held: staged, in whole frames not yet taken, and in the frame being filled. */
  get bufferedBytes(): number {
    return this.stagedBytes + (this.complete.length - this.completeHead) * this.frameBytes + this.filled;
  }

  /** Bytes in whole frames not yet taken: what backpressure counts, so a frame larger than the limit still fills. */
  get wholeFrameBytes(): number {
    return (this.complete.length - this.completeHead) * this.frameBytes;
  }

  /** Bytes that do not (yet) make a whole frame. */
  get partialBytes(): number {
    return this.stagedBytes + this.filled;
  }

  /** Fixes the frame size (once) and cuts what was staged. */
  setFrameSize(bytes: number): void {
    if (this.frameBytes > 0) {
      if (bytes !== this.frameBytes)
        throw new Error(`frame size changed from ${this.frameBytes} to ${bytes}`);
      return;
    }
    if (!Number.isInteger(bytes) || bytes <= 0)
      throw new Error(`frame size must be a positive integer: ${bytes}`);
    this.frameBytes = bytes;
    const staged = this.staged;
    this.staged = [];
    this.stagedBytes = 0;
    for (const chunk of staged) this.write(chunk);
  }

  /** Copies `bytes` in; the caller may reuse its buffer as soon as this returns. */
  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.frameBytes === 0) {
      this.staged.push(bytes.slice());
      this.stagedBytes += bytes.length;
      return;
    }
    let offset = 0;
    while (offset < bytes.length) {
      this.filling ??= this.spare.pop() ?? new Uint8Array(this.frameBytes);
      const n = Math.min(this.frameBytes - this.filled, bytes.length - offset);
      this.filling.set(bytes.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.frameBytes) {
        this.complete.push(this.filling);
        this.filling = undefined;
        this.filled = 0;
      }
    }
  }

  /** The oldest whole frame, now owned by the caller, or undefined. */
  take(): Uint8Array | undefined {
    if (this.completeHead >= this.complete.length) return undefined;
    const frame = this.complete[this.completeHead++]!;
    if (this.completeHead === this.complete.length) {
      this.complete.length = 0;
      this.completeHead = 0;
    }
    return frame;
  }

  /** Gives a taken frame's buffer back for refilling; the caller must not touch it afterwards. */
  recycle(frame: Uint8Array): void {
    if (frame.length === this.frameBytes && this.spare.length < this.maxSpare) this.spare.push(frame);
  }
}

/**
 * One line of ffmpeg's `framecrc` muxer (stable since at least 2018): `#tb 0: 1/15360` gives the time base,
 * `0,        512,        512,        0,        4, 0x066602a1` a packet (stream, dts, pts, duration, size, crc).
 * With `-enc_time_base -1` its pts are the source's own, as the filters saw them.
 */
export function parseFramecrcLine(
  line: string,
): { kind: 'frame'; pts: number } | { kind: 'timebase'; num: number; den: number } | undefined {
  const frame = FRAMECRC_PACKET.exec(line);
  if (frame) return { kind: 'frame', pts: Number(frame[1]) };
  const tb = FRAMECRC_TIMEBASE.exec(line);
  if (tb && Number(tb[2]) > 0) return { kind: 'timebase', num: Number(tb[1]), den: Number(tb[2]) };
  return undefined;
}

const FRAMECRC_PACKET = /^0,\s*-?\d+,\s*(-?\d+),/;
const FRAMECRC_TIMEBASE = /^#tb 0:\s*(\d+)\/(\d+)/;

const RAWVIDEO_OUTPUT = /^\s*Stream #0:\d+.*?: Video: rawvideo\b.*?\b(\d{1,5})x(\d{1,5})\b/;

/**
 * Frame size of ffmpeg's first rawvideo output, from its "Output #0 … Stream #0:0: Video: rawvideo …, WxH" line
 * (a second output's streams are "#1:…").
 */
export function parseRawvideoOutputSize(line: string): { width: number; height: number } | undefined {
  const match = RAWVIDEO_OUTPUT.exec(line);
  if (!match) return undefined;
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** ms with microsecond resolution, so JSON output does not carry float noise like 66.66666666666667. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
