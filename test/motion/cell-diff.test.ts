import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { compileWat, renderWasmModule, WASM_MODULE, WAT_SOURCE } from '../../scripts/lib/wasm-module.js';
import { CellDiffKernel, NOISE_SCALE } from '../../src/motion/cell-diff.js';

/** The kernel's job, one cell at a time: 2×2 sums, differences to the previous sums, cells with |d| ≥ gate. */
function oracle(
  previous: Uint16Array | undefined,
  luma: Uint8Array,
  width: number,
  gw: number,
  gh: number,
  gate: number,
) {
  const sums = new Uint16Array(gw * gh);
  const cells: number[] = [];
  const diffs: number[] = [];
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < gw; x++) {
      const at = 2 * y * width + 2 * x;
      const i = y * gw + x;
      sums[i] = luma[at]! + luma[at + 1]! + luma[at + width]! + luma[at + width + 1]!;
      const d = sums[i]! - (previous?.[i] ?? 0);
      if (previous && Math.abs(d) >= gate) {
        cells.push(i);
        diffs.push(d);
      }
    }
  }
  return { sums, cells, diffs };
}

/** A noisy frame, then frames with small noise and a few big changes, then a checkerboard of 0 / 1020 cells. */
function testFrames(width: number, height: number, seed: number): Uint8Array[] {
  let state = seed;
  const random = (below: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state >>> 16) % below;
  };
  const base = Uint8Array.from({ length: width * height }, () => random(256));
  const changed = () => base.map((v) => (random(10) === 0 ? random(256) : Math.min(255, v + random(5))));
  const checkerboard = Uint8Array.from({ length: width * height }, (_, p) =>
    (((p % width) >> 1) + (Math.floor(p / width) >> 1)) % 2 ? 255 : 0,
  );
  return [base, changed(), changed(), changed(), changed(), checkerboard];
}

describe('CellDiffKernel', () => {
  // Grid widths that are and are not multiples of the 8 cells the SIMD loop takes per step, and odd frame sizes.
  for (const [width, height] of [
    [320, 180],
    [34, 10],
    [7, 5],
    [2, 2],
    [18, 6],
  ] as const) {
    it(`matches the cell-by-cell oracle on a ${width}x${height} frame`, () => {
      const gw = Math.floor(width / 2);
      const gh = Math.floor(height / 2);
      const kernel = new CellDiffKernel(width, height, gw, gh);
      const frames = testFrames(width, height, width * 1000 + height);
      kernel.prime(frames[0]!);
      let previous = oracle(undefined, frames[0]!, width, gw, gh, 1).sums;
      expect([...kernel.reference]).toEqual([...previous]);
      for (const [k, frame] of frames.slice(1).entries()) {
        const gate = [4, 16, 60, 1020, 300][k]!;
        const want = oracle(previous, frame, width, gw, gh, gate);
        const listed = kernel.diff(frame, gate);
        if (gate <= 300 && gw * gh >= 15) expect(listed).toBeGreaterThan(0);
        expect([...kernel.listedCells.subarray(0, listed)]).toEqual(want.cells);
        expect([...kernel.listedDiffs.subarray(0, listed)]).toEqual(want.diffs);
        expect([...kernel.reference]).toEqual([...want.sums]);
        previous = want.sums;
      }
    });
  }

  it("learns each cell's noise as the oracle does, and lists each listed cell's noise from before the frame", () => {
    for (const [width, height] of [
      [320, 180],
      [34, 10],
      [7, 5],
    ] as const) {
      const gw = Math.floor(width / 2);
      const gh = Math.floor(height / 2);
      const kernel = new CellDiffKernel(width, height, gw, gh);
      const frames = testFrames(width, height, width + height);
      kernel.prime(frames[0]!);
      expect(kernel.noise.every((n) => n === 0)).toBe(true);
      let previous = oracle(undefined, frames[0]!, width, gw, gh, 1).sums;
      const noise = new Int32Array(gw * gh);
      for (const [k, frame] of frames.slice(1).entries()) {
        const learning = [
          { cap: 1020, shift: 0 },
          { cap: 60, shift: 1 },
          { cap: 200, shift: 3 },
          { cap: 1020, shift: 7 },
          { cap: 30, shift: 15 },
        ][k]!;
        const { sums, cells } = oracle(previous, frame, width, gw, gh, 60);
        const noiseBefore = cells.map((i) => noise[i]!);
        for (let i = 0; i < noise.length; i++) {
          const contribution = Math.min(Math.abs(sums[i]! - previous[i]!), learning.cap) * NOISE_SCALE;
          const half = (1 << learning.shift) >> 1;
          noise[i]! += (half + contribution - noise[i]!) >> learning.shift;
        }
        const listed = kernel.diff(frame, 60, learning);
        expect([...kernel.noise], `${width}x${height}, step ${k}`).toEqual([...noise]);
        expect([...kernel.listedNoise.subarray(0, listed)], 'noise before this frame').toEqual(noiseBefore);
        previous = sums;
      }
    }
  });

  it('reads only the frame it is given, even from a larger buffer', () => {
    const kernel = new CellDiffKernel(4, 2, 2, 1);
    kernel.prime(new Uint8Array([1, 1, 2, 2, 1, 1, 2, 2, 99, 99]));
    expect([...kernel.reference]).toEqual([4, 8]);
  });

  it('refuses a grid larger than half the frame', () => {
    expect(() => new CellDiffKernel(10, 10, 6, 5)).toThrow(/6x5 grid .* 10x10/);
  });
});

describe('diff-cells.wasm.ts', () => {
  it('holds exactly what diff-cells.wat compiles to (run `npm run build:wasm` after editing the .wat)', async () => {
    const committed = await readFile(WASM_MODULE, 'utf8');
    expect(committed).toBe(renderWasmModule(await compileWat(WAT_SOURCE)));
  });
});
