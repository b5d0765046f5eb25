import { Writable } from 'node:stream';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  JpegSplitter,
  LatestPictureFanout,
  MJPEG_BOUNDARY,
  MJPEG_CONTENT_TYPE,
  multipartPart,
} from '../../src/stream/mjpeg.js';
import { boundaryOf, parseMultipart } from '../helpers/multipart.js';

async function jpeg(width: number, height: number, seed: number): Promise<Buffer> {
  const noise = Buffer.alloc(width * height * 3);
  let x = seed;
  for (let i = 0; i < noise.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    noise[i] = x >>> 24;
  }
  // Noise makes entropy-coded data full of 0xFF bytes (stuffed as FF 00); restart markers come with the interval.
  return sharp(noise, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe('JpegSplitter', () => {
  it('cuts back-to-back JPEGs into pictures however the bytes are chunked, skipping junk between them', async () => {
    const pictures = [await jpeg(64, 48, 1), await jpeg(17, 9, 2), await jpeg(120, 90, 3)];
    const stream = Buffer.concat([
      Buffer.from('junk'),
      pictures[0]!,
      pictures[1]!,
      Buffer.from([0xff, 0x00, 0x12]),
      pictures[2]!,
    ]);
    for (const chunkSize of [1, 2, 7, 100, 4096, stream.length]) {
      const splitter = new JpegSplitter();
      const out: Buffer[] = [];
      for (let at = 0; at < stream.length; at += chunkSize)
        out.push(...splitter.push(stream.subarray(at, at + chunkSize)));
      expect(out.map((p) => p.length)).toEqual(pictures.map((p) => p.length));
      expect(out.every((p, i) => p.equals(pictures[i]!))).toBe(true);
    }
  });

  it('drops a picture that grows past its limit and finds the next one', async () => {
    const good = await jpeg(32, 32, 4);
    const splitter = new JpegSplitter(1000);
    // An SOI, a segment header, then endless scan data with no end marker.
    const runaway = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]),
      Buffer.alloc(5000, 0x11),
    ]);
    expect(splitter.push(runaway)).toEqual([]);
    expect(splitter.push(good).map((p) => p.length)).toEqual([good.length]);
  });
});

describe('multipart/x-mixed-replace framing', () => {
  it('parts carry their boundary, Content-Type and Content-Length, as MJPEG clients parse them', async () => {
    const pictures = [await jpeg(16, 16, 5), await jpeg(32, 8, 6)];
    const body = Buffer.concat(pictures.map((p) => multipartPart(p)));
    expect(boundaryOf(MJPEG_CONTENT_TYPE)).toBe(MJPEG_BOUNDARY);
    const parts = parseMultipart(body, MJPEG_BOUNDARY);
    expect(parts).toHaveLength(2);
    for (const [i, part] of parts.entries()) {
      expect(part.headers['content-type']).toBe('image/jpeg');
      expect(Number(part.headers['content-length'])).toBe(pictures[i]!.length);
      expect(part.body.equals(pictures[i]!)).toBe(true);
    }
    expect(body.toString('latin1').startsWith(`--${MJPEG_BOUNDARY}\r\n`)).toBe(true);
  });
});

const HIGH_WATER_MARK = 16 * 1024;

/** A viewer's socket: takes writes until `stall()`, then holds every write until `resume()`. */
class Socketish extends Writable {
  received: Buffer[] = [];
  private held: Array<() => void> = [];
  private stalled = false;

  constructor() {
    super({ highWaterMark: HIGH_WATER_MARK });
  }

  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    for (const release of this.held.splice(0)) release();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const take = () => {
      this.received.push(chunk);
      callback();
    };
    if (this.stalled) this.held.push(take);
    else take();
  }
}

describe('LatestPictureFanout', () => {
  it('a viewer that stops reading holds one part in flight and the newest picture; the others get everything', async () => {
    const fanout = new LatestPictureFanout();
    const fast = new Socketish();
    const slow = new Socketish();
    fanout.add(fast);
    fanout.add(slow);
    slow.stall();
    const pictures = await Promise.all([1, 2, 3, 4, 5, 6].map((seed) => jpeg(40, 30, seed)));
    const largest = Math.max(...pictures.map((p) => p.length));
    for (let round = 0; round < 50; round++) {
      for (const picture of pictures) fanout.send(picture);
      // What the socket took before it said "full", and one waiting picture.
      expect(fanout.bufferedBytes()).toBeLessThan(HIGH_WATER_MARK + 2 * (largest + 100));
    }
    const taken = Math.ceil(HIGH_WATER_MARK / (pictures[0]!.length + 80));
    expect(fanout.dropped).toBeGreaterThan(50 * 6 - taken - 5);
    const parts = (socket: Socketish) => parseMultipart(Buffer.concat(socket.received), MJPEG_BOUNDARY);
    expect(parts(fast)).toHaveLength(300);
    slow.resume();
    await new Promise((resolve) => setImmediate(resolve));
    // What it gets once it reads again: the parts the socket took, then the newest picture.
    const got = parts(slow).map((part) => part.body);
    expect(got.length).toBeLessThan(taken + 3);
    expect(got.at(-1)!.equals(pictures[5]!)).toBe(true);
    expect(fanout.remove(slow)).toBe(true);
    expect(fanout.size).toBe(1);
  });
});
