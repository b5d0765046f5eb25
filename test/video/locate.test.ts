import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateFfmpeg } from '../../src/video/locate.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-locate-'));
  for (const name of ['ffmpeg', 'ffprobe', 'my-ffmpeg']) {
    await writeFile(join(dir, name), '#!/bin/sh\n');
    await chmod(join(dir, name), 0o755);
  }
  await writeFile(join(dir, 'not-executable'), '');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('locateFfmpeg', () => {
  it('prefers DOORBELL_FFMPEG / DOORBELL_FFPROBE', () => {
    const found = locateFfmpeg({ DOORBELL_FFMPEG: join(dir, 'my-ffmpeg'), PATH: dir });
    expect(found.ffmpeg).toBe(join(dir, 'my-ffmpeg'));
    expect(found.source.ffmpeg).toBe('env');
    expect(found.ffprobe).toBe(join(dir, 'ffprobe'));
    expect(found.source.ffprobe).toBe('path');
  });

  it('then looks on PATH', () => {
    const found = locateFfmpeg({ PATH: `/nonexistent-dir:${dir}` });
    expect(found).toMatchObject({ ffmpeg: join(dir, 'ffmpeg'), source: { ffmpeg: 'path', ffprobe: 'path' } });
  });

  it('falls back to the binaries shipped by the installer packages', () => {
    const found = locateFfmpeg({ PATH: '/nonexistent-dir' });
    expect(found.source).toEqual({ ffmpeg: 'bundled', ffprobe: 'bundled' });
    expect(found.ffmpeg).toContain('@ffmpeg-installer');
    expect(found.ffprobe).toContain('@ffprobe-installer');
  });

  it('names the variable when DOORBELL_FFMPEG points at something unusable', () => {
    expect(() => locateFfmpeg({ DOORBELL_FFMPEG: join(dir, 'not-executable') })).toThrow(
      /^DOORBELL_FFMPEG=.*not-executable is not an executable file$/,
    );
  });
});
