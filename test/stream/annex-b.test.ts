import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  AccessUnitAssembler,
  AnnexBSplitter,
  isKeyframe,
  NAL_TYPE,
  nalType,
} from '../../src/stream/h264/annex-b.js';
import { locateFfmpeg } from '../../src/video/locate.js';

/** Deterministic pseudo-random bytes without start-code patterns (as emulation prevention guarantees). */
function fakeNal(seed: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = 2 + (x % 250);
  }
  bytes[0] = 0x65;
  return bytes;
}

function split(stream: Buffer, cuts: number[]): Buffer[] {
  const splitter = new AnnexBSplitter();
  const units: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    units.push(...splitter.push(stream.subarray(from, cut)));
    from = cut;
  }
  return [...units, ...splitter.flush()];
}

describe('AnnexBSplitter', () => {
  const nals = Array.from({ length: 40 }, (_, i) => fakeNal(i + 1, 1 + ((i * 37) % 300)));
  const stream = Buffer.concat(
    nals.flatMap((nal, i) => [
      Buffer.from(i % 3 === 0 ? [0, 0, 0, 1] : [0, 0, 1]),
      nal,
      Buffer.alloc(i % 5 === 0 ? 2 : 0),
    ]),
  );

  it('returns every unit whole, however the stream is cut', () => {
    expect(split(stream, [])).toEqual(nals);
    for (const step of [1, 2, 3, 4, 7, 64, 1000]) {
      const cuts = Array.from({ length: Math.floor((stream.length - 1) / step) }, (_, i) => (i + 1) * step);
      expect(split(stream, cuts), `cut every ${step} bytes`).toEqual(nals);
    }
  });

  it('ignores bytes before the first start code and yields nothing for none', () => {
    expect(split(Buffer.concat([Buffer.from([9, 9, 0, 0]), Buffer.from([0, 1]), nals[0]!]), [3])).toEqual([
      nals[0],
    ]);
    expect(split(Buffer.from([1, 2, 3, 0, 0]), [])).toEqual([]);
  });
});

describe('AccessUnitAssembler on a real x264 stream', () => {
  it('finds one access unit per encoded frame, keyframes where the GOP starts', () => {
    const { ffmpeg } = locateFfmpeg();
    const stream = execFileSync(ffmpeg, [
      ...[
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=160x120:rate=10',
        '-frames:v',
        '25',
      ],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-threads', '1', '-f', 'h264', 'pipe:1'],
    ]);
    const assembler = new AccessUnitAssembler();
    const units = split(stream, [100, 101, 5000]).flatMap((nal) => assembler.push(nal));
    units.push(...assembler.flush());
    expect(units).toHaveLength(25);
    expect(units.map((unit, i) => [i, isKeyframe(unit)]).filter(([, key]) => key)).toEqual([
      [0, true],
      [10, true],
      [20, true],
    ]);
    expect(units[0]!.map(nalType)).toEqual(
      expect.arrayContaining([NAL_TYPE.sps, NAL_TYPE.pps, NAL_TYPE.idrSlice]),
    );
  });
});
