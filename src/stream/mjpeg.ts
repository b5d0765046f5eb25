/**
 * MJPEG over HTTP, the pure parts: cutting an encoder's concatenated JPEGs into pictures, and the
 * multipart/x-mixed-replace framing Home Assistant's MJPEG camera, go2rtc and Frigate parse (each part with its
 * Content-Type and Content-Length).
 */
import type { Writable } from 'node:stream';

export const MJPEG_BOUNDARY = 'doorbellframe';
export const MJPEG_CONTENT_TYPE = `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`;

/** The bytes before a JPEG in the multipart body; the JPEG is followed by CRLF. */
export function multipartPartHeader(jpegBytes: number): Buffer {
  return Buffer.from(
    `--${MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpegBytes}\r\n\r\n`,
    'latin1',
  );
}

export const MULTIPART_PART_END = Buffer.from('\r\n', 'latin1');

/** One part: header, JPEG, CRLF. */
export function multipartPart(jpeg: Buffer): Buffer {
  return Buffer.concat([multipartPartHeader(jpeg.length), jpeg, MULTIPART_PART_END]);
}

const MARKER = 0xff;
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

/**
 * Splits a stream of back-to-back JPEGs (ffmpeg's image2pipe) into whole pictures, by their markers: header
 * segments are skipped by their lengths, and entropy-coded data ends at the first marker that is neither a stuffed
 * 0xFF00 nor a restart marker. Bytes before a start-of-image are dropped; a picture over `maxBytes` is dropped too.
 */
export class JpegSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Where parsing resumes in `pending` (everything before it belongs to the current picture, already checked). */
  private cursor = 0;
  /** Inside entropy-coded data (after SOS): scanning byte by byte for the next real marker. */
  private inScan = false;

  constructor(private readonly maxBytes = 16 << 20) {}

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const pictures: Buffer[] = [];
    for (;;) {
      const found = this.scan();
      if (found === undefined) break;
      if (found.picture) pictures.push(Buffer.from(this.pending.subarray(0, found.end)));
      this.pending = this.pending.subarray(found.end);
      this.cursor = 0;
      this.inScan = false;
    }
    if (this.pending.length > this.maxBytes) this.reset();
    return pictures;
  }

  private reset(): void {
    this.pending = Buffer.alloc(0);
    this.cursor = 0;
    this.inScan = false;
  }

  /** Where the picture at the front of `pending` ends, or the bytes to drop before one; undefined: need more. */
  private scan(): { end: number; picture: boolean } | undefined {
    const bytes = this.pending;
    if (this.cursor === 0) {
      const start = findSoi(bytes);
      if (start < 0) {
        // Keep a trailing 0xFF: it may begin the next SOI.
        this.pending = bytes.subarray(Math.max(0, bytes.length - 1));
        return undefined;
      }
      if (start > 0) return { end: start, picture: false };
      this.cursor = 2;
    }
    let at = this.cursor;
    while (at + 1 < bytes.length) {
      if (this.inScan) {
        if (bytes[at] !== MARKER) {
          at++;
          continue;
        }
        const next = bytes[at + 1]!;
        if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === MARKER) {
          at += next === MARKER ? 1 : 2;
          continue;
        }
        this.inScan = false;
      }
      if (bytes[at] !== MARKER) {
        // Not where a marker must be: this is no JPEG; drop what was read and look for the next SOI.
        return { end: at, picture: false };
      }
      const marker = bytes[at + 1]!;
      if (marker === MARKER) {
        at++;
        continue;
      }
      if (marker === EOI) return { end: at + 2, picture: true };
      if (at + 3 >= bytes.length) break;
      const length = bytes.readUInt16BE(at + 2);
      at += 2 + length;
      if (marker === SOS) this.inScan = true;
    }
    // May point past the end: a segment still arriving is skipped, not scanned.
    this.cursor = at;
    return undefined;
  }
}

function findSoi(bytes: Buffer): number {
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === MARKER && bytes[i + 1] === SOI) return i;
  }
  return -1;
}

interface Viewer {
  out: Writable;
  /** The socket has not taken the last part yet. */
  busy: boolean;
  /** The newest picture that arrived while busy (older ones are dropped). */
  latest: Buffer | undefined;
}

/**
 * Sends each picture to every viewer as a multipart part. A viewer whose socket has not drained keeps only the
 * newest picture for when it does: memory per viewer is one part in flight and one waiting, however slowly it reads.
 */
export class LatestPictureFanout {
  private readonly viewers = new Map<Writable, Viewer>();
  /** Pictures a slow viewer never got because a newer one replaced them. */
  dropped = 0;

  get size(): number {
    return this.viewers.size;
  }

  add(out: Writable): void {
    const viewer: Viewer = { out, busy: false, latest: undefined };
    this.viewers.set(out, viewer);
    out.on('drain', () => {
      viewer.busy = false;
      const next = viewer.latest;
      viewer.latest = undefined;
      if (next) this.sendTo(viewer, next);
    });
  }

  /** Returns whether it was a viewer. */
  remove(out: Writable): boolean {
    return this.viewers.delete(out);
  }

  send(jpeg: Buffer): void {
    for (const viewer of this.viewers.values()) this.sendTo(viewer, jpeg);
  }

  /** Bytes held for viewers now: unsent parts and waiting pictures. */
  bufferedBytes(): number {
    let total = 0;
    for (const viewer of this.viewers.values())
      total += viewer.out.writableLength + (viewer.latest?.length ?? 0);
    return total;
  }

  /** Ends every viewer's connection. */
  destroyAll(): void {
    for (const out of this.viewers.keys()) out.destroy();
    this.viewers.clear();
  }

  private sendTo(viewer: Viewer, jpeg: Buffer): void {
    if (viewer.busy) {
      if (viewer.latest) this.dropped++;
      viewer.latest = jpeg;
      return;
    }
    const { out } = viewer;
    if (out.destroyed || out.writableEnded) return;
    out.cork();
    out.write(multipartPartHeader(jpeg.length));
    out.write(jpeg);
    const flowing = out.write(MULTIPART_PART_END);
    out.uncork();
    viewer.busy = !flowing;
  }
}
