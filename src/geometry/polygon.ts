/** A polygon in normalized [0,1] picture coordinates: [x, y] pairs, (0,0) top-left. */
export type NormalizedPolygon = ReadonlyArray<readonly [number, number]>;

/**
 * Sets `value` in every cell of a width×height grid whose centre lies inside the polygon (even-odd rule).
 * Runs once per (grid size, settings), never per frame.
 */
export function fillPolygon(
  target: Uint8Array,
  width: number,
  height: number,
  polygon: NormalizedPolygon,
  value = 1,
): void {
  const n = polygon.length;
  if (n < 3) return;
  const crossings: number[] = [];
  for (let row = 0; row < height; row++) {
    const y = (row + 0.5) / height;
    crossings.length = 0;
    for (let i = 0, j = n - 1; i < n; j = i++) {
      const [xi, yi] = polygon[i]!;
      const [xj, yj] = polygon[j]!;
      // Half-open rule on y so a vertex exactly on the scanline is counted once.
      if (yi <= y !== yj <= y) crossings.push(xi + ((y - yi) / (yj - yi)) * (xj - xi));
    }
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      // Cells whose centre x + 0.5 lies in [left, right).
      const from = Math.max(0, Math.ceil(crossings[k]! * width - 0.5));
      const to = Math.min(width, Math.ceil(crossings[k + 1]! * width - 0.5));
      target.fill(value, row * width + from, row * width + Math.max(from, to));
    }
  }
}

export function rasterizePolygons(
  width: number,
  height: number,
  polygons: readonly NormalizedPolygon[],
): Uint8Array {
  const grid = new Uint8Array(width * height);
  for (const polygon of polygons) fillPolygon(grid, width, height, polygon);
  return grid;
}
