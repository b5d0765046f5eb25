import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseByteRange, sliceBytes } from '../../src/ui/range.js';

describe('parseByteRange', () => {
  it('reads first-last, open-ended and suffix ranges', () => {
    expect(parseByteRange('bytes=0-99', 1000)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(parseByteRange('bytes=500-', 1000)).toEqual({ kind: 'partial', start: 500, end: 999 });
    expect(parseByteRange('bytes=-100', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(parseByteRange('bytes=-5000', 1000)).toEqual({ kind: 'partial', start: 0, end: 999 });
    expect(parseByteRange('bytes=900-5000', 1000)).toEqual({ kind: 'partial', start: 900, end: 999 });
  });

  it('answers the whole resource for no, malformed or multi-range headers', () => {
    for (const header of [undefined, 'bytes=', 'items=0-1', 'bytes=0-1,5-6', 'bytes=9-3', 'bytes=a-b']) {
      expect(parseByteRange(header, 1000), String(header)).toEqual({ kind: 'full' });
    }
  });

  it('reports ranges that start past the end as unsatisfiable', () => {
    expect(parseByteRange('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseByteRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('sliceBytes', () => {
  const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
  const chunked = () => Readable.from([data.subarray(0, 7), data.subarray(7, 40), data.subarray(40, 100)]);

  it('yields exactly the inclusive range across chunk boundaries', async () => {
    for (const [start, end] of [
      [0, 99],
      [5, 8],
      [7, 7],
      [39, 41],
      [90, 99],
    ] as const) {
      const parts: Buffer[] = [];
      for await (const part of sliceBytes(chunked(), start, end)) parts.push(part);
      expect(Buffer.concat(parts).equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it('stops reading the source once the range is out', async () => {
    const source = chunked();
    for await (const _ of sliceBytes(source, 0, 3)) {
      // drain
    }
    expect(source.destroyed).toBe(true);
  });
});
