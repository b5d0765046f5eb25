import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { command as hold } from '../../src/cli/commands/hold.js';
import { command as retention } from '../../src/cli/commands/retention.js';
import { type CliCommand, type CliIo, UsageError } from '../../src/cli/io.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { listKeys, makeClipFile } from '../storage/helpers.js';

let dir: string;
let bucket: FsBucket;

const COMMANDS: Record<string, CliCommand> = { hold, retention };

/** What src/cli/main.ts does with a command: run it, turn a UsageError into one line and its exit code. */
async function main([name, ...args]: string[], io: CliIo): Promise<number> {
  try {
    return await COMMANDS[name!]!.run(args, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`doorbell ${name}: ${error.message}\n`);
    return error.exitCode;
  }
}

function fakeIo(): CliIo & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => {
    out += String(c);
  });
  stderr.on('data', (c) => {
    err += String(c);
  });
  return { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: dir, out: () => out, err: () => err };
}

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
    const preview = fakeIo();
    expect(await main(['retention', 'sweep', '--dry-run', '--now', '2026-03-05T00:00:00Z'], preview)).toBe(0);
    expect(preview.out()).toContain(
      'would delete clips/door/2026/01/01/old.mp4 (expired 2026-03-02T00:00:00.000Z)',
    );
    expect(preview.out()).toMatch(/2 would delete, 2 retained, 0 held, 0 undated, 0 errors/);
    expect(await listKeys(bucket, 'clips/')).toHaveLength(4);

    const real = fakeIo();
    expect(await main(['retention', 'sweep', '--json', '--now', '2026-03-05T00:00:00Z'], real)).toBe(0);
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
    const io = fakeIo();
    expect(await main(['retention', 'sweep', '--bucket', 'gs://x'], io)).toBe(2);
    expect(io.err()).toBe(
      'doorbell retention: bucket scheme "gs://" is not supported: use a directory, file://DIR or s3://NAME\n',
    );
    const bad = fakeIo();
    expect(await main(['retention', 'sweep', '--now', 'yesterday'], bad)).toBe(2);
    expect(bad.err()).toMatch(/--now "yesterday" is not an ISO-8601 time/);
    const noAction = fakeIo();
    expect(await main(['retention'], noAction)).toBe(2);
    expect(noAction.err()).toMatch(/missing action \(use sweep\)/);
  });
});

describe('doorbell hold', () => {
  it('sets and clears a legal hold that the sweep honours', async () => {
    await putClip('door', 'evidence', '2026-01-01T00:00:00.000Z');
    const set = fakeIo();
    expect(await main(['hold', 'set', 'evidence', '--bucket', join(dir, '.doorbell', 'bucket')], set)).toBe(
      0,
    );
    expect(set.out()).toBe(
      'held      clips/door/2026/01/01/evidence.jpg\nheld      clips/door/2026/01/01/evidence.mp4\n' +
        'clip evidence (door): legal hold set\n',
    );
    expect(await main(['retention', 'sweep', '--now', '2027-01-01T00:00:00Z'], fakeIo())).toBe(0);
    expect(await listKeys(bucket, 'clips/')).toHaveLength(2);

    const clear = fakeIo();
    expect(await main(['hold', 'clear', 'evidence', '--device', 'door', '--json'], clear)).toBe(0);
    expect(JSON.parse(clear.out())).toMatchObject({ clipId: 'evidence', deviceId: 'door', held: false });
    expect(await main(['retention', 'sweep', '--now', '2027-01-01T00:00:00Z'], fakeIo())).toBe(0);
    expect(await listKeys(bucket, 'clips/')).toEqual([]);
  });

  it('says clearly when the clip is missing or the id is unsafe', async () => {
    const missing = fakeIo();
    expect(await main(['hold', 'set', 'ghost'], missing)).toBe(1);
    expect(missing.err()).toMatch(
      /^doorbell hold: clip "ghost" not found in file:\/\/\/.*\.doorbell\/bucket\n$/,
    );
    const unsafe = fakeIo();
    expect(await main(['hold', 'set', '../../etc/passwd'], unsafe)).toBe(2);
    expect(unsafe.err()).toMatch(/clipId "..\/..\/etc\/passwd" is invalid/);
    const badAction = fakeIo();
    expect(await main(['hold', 'toggle', 'x'], badAction)).toBe(2);
    expect(badAction.err()).toMatch(/unknown action "toggle" \(use set or clear\)/);
  });
});
