/** Privacy masks burned into clips and stills: black polygons drawn on a transparent PNG that ffmpeg overlays. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { NormalizedPolygon } from '../../geometry/polygon.js';
import { polygonsSvg } from '../polygon-svg.js';

/** The polygons that enclose an area (three points or more). */
export function drawablePolygons(polygons: readonly NormalizedPolygon[] | undefined): NormalizedPolygon[] {
  return polygons?.filter((p) => p.length >= 3) ?? [];
}

export interface MaskFile {
  file: string;
  /** Removes the file and its temporary directory. */
  dispose(): Promise<void>;
}

/** A width×height PNG of the polygons in a temporary directory, for ffmpeg to read as an extra input. */
export async function writeMaskFile(
  width: number,
  height: number,
  polygons: readonly NormalizedPolygon[],
): Promise<MaskFile> {
  const dir = await mkdtemp(join(tmpdir(), 'doorbell-mask-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const file = join(dir, 'mask.png');
    await writeFile(file, await maskPng(width, height, polygons));
    return { file, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

async function maskPng(
  width: number,
  height: number,
  polygons: readonly NormalizedPolygon[],
): Promise<Buffer> {
  return sharp(Buffer.from(polygonsSvg(width, height, polygons)))
    .png()
    .toBuffer();
}
