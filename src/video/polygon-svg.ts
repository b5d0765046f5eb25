import type { NormalizedPolygon } from '../geometry/polygon.js';

/** An SVG of `width`×`height` with the polygons filled black and `extra` SVG elements drawn over them. */
export function polygonsSvg(
  width: number,
  height: number,
  polygons: readonly NormalizedPolygon[],
  extra = '',
): string {
  const shapes = polygons
    .map((polygon) => {
      const points = polygon
        .map(([x, y]) => `${(x * width).toFixed(2)},${(y * height).toFixed(2)}`)
        .join(' ');
      return `<polygon points="${points}" fill="#000" />`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes}${extra}</svg>`;
}
