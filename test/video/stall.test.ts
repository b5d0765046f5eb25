import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { VideoError } from '../../src/video/ffmpeg/errors.js';
import { decodeGrayFrames } from '../../src/video/ffmpeg/gray-decode.js';
import { locateFfmpeg } from '../../src/video/locate.js';

// An "ffmpeg" that answers capability queries like the real one but then hangs without output, as a wedged
// network mount or a broken build would (or, with FAKE_FFMPEG=fail, fails with an error line). This file runs
// in its own process, so the override stays here.
let dir: string;
beforeAll(async () => {
  const real = locateFfmpeg().ffmpeg;
  dir = await mkdtemp(join(tmpdir(), 'doorbell-stall-'));
  const fake = join(dir, 'ffmpeg');
  await writeFile(
    fake,
    `#!/bin/sh\ncase "$*" in *-formats*|*-encoders*|*-codecs*|*-filters*) exec "${real}" "$@";; esac\n` +
      // FAKE_FFMPEG=fail: an error, then a frame statistics line, then exit 1.
      'if [ "$FAKE_FFMPEG" = fail ]; then\n' +
      '  echo "Error while decoding stream #0:0: Invalid data found when processing input" >&2\n' +
      '  echo "frame=    0 fps=0.0 q=0.0 Lsize=       0kB time=00:00:00.00 bitrate=N/A speed=   0x" >&2\n' +
      '  exit 1\n' +
      'fi\n' +
      'exec sleep 30\n',
  );
  await chmod(fake, 0o755);
  process.env['DOORBELL_FFMPEG'] = fake;
});
afterAll(async () => {
  delete process.env['DOORBELL_FFMPEG'];
  await rm(dir, { recursive: true, force: true });
});

it('gives up with one clear line when ffmpeg produces nothing, and stops it', async () => {
  const started = performance.now();
  const run = async () => {
    for await (const _frame of decodeGrayFrames('fixtures/video/quiet-porch.mp4', { stallTimeoutMs: 300 })) {
      // never reached
    }
  };
  const error = await run().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(VideoError);
  expect((error as Error).message).toBe(
    'cannot decode fixtures/video/quiet-porch.mp4: ffmpeg produced nothing for 300 ms',
  );
  // The stall is noticed within a watchdog period, and the stop (q, then SIGINT after 1.5 s) is awaited.
  expect(performance.now() - started).toBeLessThan(5_000);
});

it("names ffmpeg's error line, not the last line it wrote", async () => {
  process.env['FAKE_FFMPEG'] = 'fail';
  try {
    const run = async () => {
      for await (const _frame of decodeGrayFrames('fixtures/video/quiet-porch.mp4')) {
        // never reached
      }
    };
    const error = await run().catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'cannot decode fixtures/video/quiet-porch.mp4: Error while decoding stream #0:0: Invalid data found when processing input',
    );
  } finally {
    delete process.env['FAKE_FFMPEG'];
  }
});
