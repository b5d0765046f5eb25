import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { captureIo } from '../helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-motion-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('doorbell motion', () => {
  it('prints one JSON object per event with type, ptsMs, score, box and zones', async () => {
    const io = captureIo();
    expect(await runCli(['motion', 'fixtures/video/person-crossing.mp4', '--json'], io)).toBe(0);
    const lines = io.out().trim().split('\n');
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toEqual({
      type: 'start',
      ptsMs: expect.any(Number),
      score: expect.any(Number),
      box: { x: expect.any(Number), y: expect.any(Number), w: expect.any(Number), h: expect.any(Number) },
      zones: ['frame'],
    });
    expect(events.at(-1)!['type']).toBe('end');
    expect(events.every((e) => Object.keys(e).join() === 'type,ptsMs,score,box,zones')).toBe(true);
  });

  it('prints readable lines and a summary without --json', async () => {
    const io = captureIo();
    expect(await runCli(['motion', 'fixtures/video/small-animal.mp4', '--sensitivity', 'high'], io)).toBe(0);
    expect(io.out()).toMatch(/^start\s+1\.\d{3} s {2}score 0\.\d\d {2}box x=/m);
    expect(io.out()).toMatch(/^\d+ events; 135 frames .* at high sensitivity$/m);
  });

  it('applies masks from a --zones file (a fixture ground truth works)', async () => {
    // At high sensitivity the bush's strongest gusts get past the learned noise; the mask silences them.
    const without = captureIo();
    await runCli(['motion', 'fixtures/video/foliage-masked.mp4', '--json', '--sensitivity', 'high'], without);
    expect(without.out()).toContain('"start"');
    const masked = captureIo();
    const code = await runCli(
      [
        'motion',
        'fixtures/video/foliage-masked.mp4',
        '--json',
        '--zones',
        'fixtures/video/foliage-masked.json',
        '--sensitivity',
        'high',
      ],
      masked,
    );
    expect(code).toBe(0);
    expect(masked.out()).toBe('');
  });

  it('writes heat-map PNGs with --debug-dir', async () => {
    const io = captureIo();
    const debugDir = join(dir, 'heat');
    await runCli(['motion', 'fixtures/video/person-crossing.mp4', '--json', '--debug-dir', debugDir], io);
    const files = (await readdir(debugDir)).sort();
    expect(files.length).toBeGreaterThan(50);
    expect(files.some((f) => f.endsWith('-start.png'))).toBe(true);
    const png = await readFile(join(debugDir, files[0]!));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(io.err()).toMatch(/heat maps: \d+ PNG files in /);
  });

  it('exits 2 with one clear line for a file that is not a video', async () => {
    const bad = join(dir, 'bad.mp4');
    await writeFile(bad, 'not a video');
    const io = captureIo();
    expect(await runCli(['motion', bad], io)).toBe(2);
    expect(io.err()).toBe(
      `doorbell motion: cannot decode ${bad}: Invalid data found when processing input\n`,
    );
    expect(io.out()).toBe('');
  });

  it('exits 2 on bad arguments and bad zone files', async () => {
    const zones = join(dir, 'zones.json');
    await writeFile(zones, JSON.stringify({ zones: [{ name: 'x', polygon: [[0, 0]] }] }));
    for (const args of [
      ['motion'],
      ['motion', 'fixtures/video/quiet-porch.mp4', '--sensitivity', 'max'],
      ['motion', 'fixtures/video/quiet-porch.mp4', '--zones', join(dir, 'none.json')],
      ['motion', 'fixtures/video/quiet-porch.mp4', '--zones', zones],
      ['motion', join(dir, 'missing.mp4')],
    ]) {
      const io = captureIo();
      expect(await runCli(args, io), args.join(' ')).toBe(2);
      expect(io.err().trim().split('\n')).toHaveLength(1);
    }
  });
});
