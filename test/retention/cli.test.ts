import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { captureIo } from '../helpers/cli.js';
import { listKeys, makeClipFile } from '../storage/helpers.js';

let dir: string;
let bucket: FsBucket;

async function putClip(
  deviceId: string,
  clipId: string,
  recordedAt: string,
  extra: Record<string, string> = {},
) {
  const src = await makeClipFile(dir, `${clipId}.src`, 100);
  const day = recordedAt.slice(0, 10).replaceAll('-', '/');
  for (const ext of ['mp4', 'jpg']) {
    await bucket.put(`clips/${deviceId}/${day}/${clipId}.${ext}`, src.path, {
      'recorded-at': recordedAt,
      'retention-days': '60',
      'legal-hold': 'false',
      ...extra,
    });
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-cli-retention-'));
  bucket = new FsBucket(join(dir, '.doorbell', 'bucket'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('doorbell retention sweep', () => {
  it('previews with --dry-run and deletes without it, in the default bucket', async () => {
    await putClip('door', 'old', '2026-01-01T00:00:00.000Z');
    await putClip('door', 'new', '2026-02-20T00:00:00.000Z');
    const preview = captureIo({ cwd: dir });
    expect(await runCli(['retention', 'sweep', '--dry-run', '--now', '2026-03-05T00:00:00Z'], preview)).toBe(
      0,
    );
    expect(preview.out()).toContain(
      'would delete clips/door/2026/01/01/old.mp4 (expired 2026-03-02T00:00:00.000Z)',
    );
    expect(preview.out()).toMatch(/2 would delete, 2 retained, 0 held, 0 undated, 0 errors/);
    expect(await listKeys(bucket, 'clips/')).toHaveLength(4);

    const real = captureIo({ cwd: dir });
    expect(await runCli(['retention', 'sweep', '--json', '--now', '2026-03-05T00:00:00Z'], real)).toBe(0);
    const report = JSON.parse(real.out());
    expect(report.deleted.map((d: { key: string }) => d.key)).toEqual([
      'clips/door/2026/01/01/old.jpg',
      'clips/door/2026/01/01/old.mp4',
    ]);
    expect(await listKeys(bucket, 'clips/')).toEqual([
      'clips/door/2026/02/20/new.jpg',
      'clips/door/2026/02/20/new.mp4',
    ]);
  });

  it('explains bad input in one line', async () => {
    const io = captureIo({ cwd: dir });
    expect(await runCli(['retention', 'sweep', '--bucket', 'gs://x'], io)).toBe(2);
    expect(io.err()).toBe(
      'doorbell retention: bucket scheme "gs://" is not supported: use a directory, file://DIR or s3://NAME\n',
    );
    const bad = captureIo({ cwd: dir });
    expect(await runCli(['retention', 'sweep', '--now', 'yesterday'], bad)).toBe(2);
    expect(bad.err()).toMatch(/--now "yesterday" is not an ISO-8601 time/);
    const noAction = captureIo({ cwd: dir });
    expect(await runCli(['retention'], noAction)).toBe(2);
    expect(noAction.err()).toMatch(/missing action \(use sweep\)/);
  });
});

describe('doorbell hold', () => {
  it('sets and clears a legal hold that the sweep honours', async () => {
    await putClip('door', 'evidence', '2026-01-01T00:00:00.000Z');
    const set = captureIo({ cwd: dir });
    expect(await runCli(['hold', 'set', 'evidence', '--bucket', join(dir, '.doorbell', 'bucket')], set)).toBe(
      0,
    );
    expect(set.out()).toBe(
      'held      clips/door/2026/01/01/evidence.jpg\nheld      clips/door/2026/01/01/evidence.mp4\n' +
        'clip evidence (door): legal hold set\n',
    );
    expect(
      await runCli(['retention', 'sweep', '--now', '2027-01-01T00:00:00Z'], captureIo({ cwd: dir })),
    ).toBe(0);
    expect(await listKeys(bucket, 'clips/')).toHaveLength(2);

    const clear = captureIo({ cwd: dir });
    expect(await runCli(['hold', 'clear', 'evidence', '--device', 'door', '--json'], clear)).toBe(0);
    expect(JSON.parse(clear.out())).toMatchObject({ clipId: 'evidence', deviceId: 'door', held: false });
    expect(
      await runCli(['retention', 'sweep', '--now', '2027-01-01T00:00:00Z'], captureIo({ cwd: dir })),
    ).toBe(0);
    expect(await listKeys(bucket, 'clips/')).toEqual([]);
  });

  it('says clearly when the clip is missing or the id is unsafe', async () => {
    const missing = captureIo({ cwd: dir });
    expect(await runCli(['hold', 'set', 'ghost'], missing)).toBe(1);
    expect(missing.err()).toMatch(
      /^doorbell hold: clip "ghost" not found in file:\/\/\/.*\.doorbell\/bucket\n$/,
    );
    const unsafe = captureIo({ cwd: dir });
    expect(await runCli(['hold', 'set', '../../etc/passwd'], unsafe)).toBe(2);
    expect(unsafe.err()).toMatch(/clipId "..\/..\/etc\/passwd" is invalid/);
    const badAction = captureIo({ cwd: dir });
    expect(await runCli(['hold', 'toggle', 'x'], badAction)).toBe(2);
    expect(badAction.err()).toMatch(/unknown action "toggle" \(use set or clear\)/);
  });
});
