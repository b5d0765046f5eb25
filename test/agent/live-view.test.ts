import sharp from 'sharp';
import { expect, it } from 'vitest';
import { LiveView } from '../../src/agent/live-view.js';

const W = 64;
const H = 48;

async function pixel(jpeg: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(jpeg)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [data[at]!, data[at + 1]!, data[at + 2]!];
}

it('blacks out privacy zones and outlines the motion box, and redraws when the box changes', async () => {
  const jpegs: Buffer[] = [];
  let wake: (() => void) | undefined;
  const view = new LiveView({
    fps: 1000,
    privacyZones: [
      [
        [0, 0],
        [0.25, 0],
        [0.25, 1],
        [0, 1],
      ],
    ],
    onJpeg: (jpeg) => {
      jpegs.push(jpeg);
      wake?.();
    },
  });
  const next = () => new Promise<void>((resolve) => (wake = resolve));
  const frame = (ptsMs: number) => ({
    index: 0,
    ptsMs,
    width: W,
    height: H,
    data: new Uint8Array(W * H).fill(128),
  });

  view.setMotionBox({ x: 0.5, y: 0.25, w: 0.25, h: 0.5 });
  let shown = next();
  view.push(frame(0));
  await shown;
  const [zone, open, edge] = await Promise.all([
    pixel(jpegs[0]!, 4, 24),
    pixel(jpegs[0]!, 44, 40),
    pixel(jpegs[0]!, 32, 24),
  ]);
  expect(Math.max(...zone)).toBeLessThan(30);
  expect(open.every((v) => Math.abs(v - 128) < 12)).toBe(true);
  expect(edge[0] - edge[1]).toBeGreaterThan(60); // red

  view.setMotionBox(undefined);
  shown = next();
  view.push(frame(10));
  await shown;
  const cleared = await pixel(jpegs[1]!, 32, 24);
  expect(cleared.every((v) => Math.abs(v - 128) < 12)).toBe(true);
  expect(Math.max(...(await pixel(jpegs[1]!, 4, 24)))).toBeLessThan(30);
});
