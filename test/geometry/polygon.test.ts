import { describe, expect, it } from 'vitest';
import { rasterizePolygons } from '../../src/geometry/polygon.js';

const count = (grid: Uint8Array) => grid.reduce((sum, v) => sum + v, 0);
const rows = (grid: Uint8Array, width: number) =>
  Array.from({ length: grid.length / width }, (_, r) =>
    [...grid.subarray(r * width, (r + 1) * width)].join(''),
  );

describe('rasterizePolygons', () => {
  it('fills the cells whose centre is inside (left half of a 4×2 grid)', () => {
    const grid = rasterizePolygons(4, 2, [
      [
        [0, 0],
        [0.5, 0],
        [0.5, 1],
        [0, 1],
      ],
    ]);
    expect(rows(grid, 4)).toEqual(['1100', '1100']);
  });

  it('fills a triangle by cell centres', () => {
    const grid = rasterizePolygons(4, 4, [
      [
        [0, 0],
        [1, 1],
        [0, 1],
      ],
    ]);
    expect(rows(grid, 4)).toEqual(['0000', '1000', '1100', '1110']);
  });

  it('covers about the polygon area on a fine grid, and unions several polygons', () => {
    const square = (x: number, y: number, s: number): Array<[number, number]> => [
      [x, y],
      [x + s, y],
      [x + s, y + s],
      [x, y + s],
    ];
    const grid = rasterizePolygons(200, 100, [square(0.1, 0.1, 0.2), square(0.2, 0.2, 0.2)]);
    // Two 40×20-cell squares overlapping in a 20×10 patch.
    expect(count(grid)).toBe(40 * 20 * 2 - 20 * 10);
  });

  it('ignores degenerate polygons', () => {
    expect(
      count(
        rasterizePolygons(10, 10, [
          [
            [0, 0],
            [1, 1],
          ],
        ]),
      ),
    ).toBe(0);
  });

  it('handles concave shapes with the even-odd rule', () => {
    // A "U": the notch in the middle stays empty.
    const grid = rasterizePolygons(6, 2, [
      [
        [0, 0],
        [1 / 3, 0],
        [1 / 3, 0.5],
        [2 / 3, 0.5],
        [2 / 3, 0],
        [1, 0],
        [1, 1],
        [0, 1],
      ],
    ]);
    expect(rows(grid, 6)).toEqual(['110011', '111111']);
  });
});
