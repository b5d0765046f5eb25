import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { REPO_ROOT, spawnCli, tempDir } from '../helpers/mqtt.js';

/** Runs `doorbell …` in this process; what it printed and its exit code. */
async function doorbell(...args: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await runCli(args, { stdout, stderr, stdin: new PassThrough(), env: {}, cwd: REPO_ROOT });
  return { code, out, err };
}

describe('doorbell: bad input is exit 2 with one clear line', () => {
  it('--version prints the package version', async () => {
    const { code, out } = await doorbell('--version');
    expect(code).toBe(0);
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('start --mqtt-version 5 without --broker is refused with one line saying why and what to use', async () => {
    const { code, err } = await doorbell('start', '--mqtt-version', '5', '--port', '0', '--video', 'none');
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toContain('--mqtt-version 5 needs --broker');
    expect(err).toContain('3.1.1');
  });

  it('start with a bad log level, bucket URL, cron, MQTT version or data dir: exit 2, one line naming it', async () => {
    const cases: Array<[string[], Record<string, string>, string]> = [
      [[], { DOORBELL_LOG_LEVEL: 'bogus' }, 'DOORBELL_LOG_LEVEL "bogus": expected one of'],
      [['--bucket', 's3://x'], {}, 'S3 bucket name "x" is invalid'],
      [['--retention-cron', 'foo'], {}, 'retention cron "foo" is invalid'],
      [['--mqtt-version', '6'], {}, '--mqtt-version "6": use 3.1.1 or 5'],
      // Node's recursive mkdir never returns under /proc: the data dir is made level by level.
      [['--data-dir', '/proc/nope'], {}, '--data-dir "/proc/nope": cannot create /proc/nope: no such file'],
    ];
    for (const [args, env, message] of cases) {
      const saved = { ...process.env };
      Object.assign(process.env, env);
      try {
        const { code, err } = await doorbell(
          'start',
          '--video',
          'none',
          '--port',
          '0',
          '--data-dir',
          tempDir(),
          ...args,
        );
        expect(err.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(err).toContain(message);
        expect(code, err).toBe(2);
      } finally {
        process.env = saved;
      }
    }
  });

  it("help COMMAND prints that command's usage", async () => {
    const { code, out } = await doorbell('help', 'press');
    expect(code).toBe(0);
    expect(out).toContain('Usage: doorbell press');
  });

  it('start --video with a file that is not there: exit 2, as motion does', async () => {
    const start = await doorbell('start', '--video', 'no-such.mp4', '--port', '0');
    expect(start.code).toBe(2);
    expect(start.err).toContain('--video "no-such.mp4": no such file');
    const motion = await doorbell('motion', 'no-such.mp4');
    expect(motion.code).toBe(2);
  });

  it('press --source martian: exit 2 naming the field and the value', async () => {
    const { code, err } = await doorbell('press', '--source', 'martian', '--timeout', '100');
    expect(code).toBe(2);
    expect(err).toContain('--source "martian"');
    expect(err).toContain('button');
  });

  it('motion --profile bad.json prints every problem, as start does', async () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ model: 7, fps: 'fast', retentionDays: -1 }));
    const motion = await doorbell('motion', 'fixtures/video/person-crossing.mp4', '--profile', bad);
    const start = await doorbell('start', '--profile', bad, '--video', 'none', '--port', '0');
    expect(motion.code).toBe(2);
    expect(start.code).toBe(2);
    const problems = (text: string) => text.split('\n').filter((line) => line.includes(bad)).length;
    expect(problems(motion.err)).toBeGreaterThanOrEqual(3);
    expect(problems(motion.err)).toBe(problems(start.err));
  });

  it('start --help explains each option', async () => {
    const { code, out } = await doorbell('start', '--help');
    expect(code).toBe(0);
    for (const option of [
      '--data-dir',
      '--video',
      '--bucket',
      '--mqtt-version',
      '--auth',
      '--retention-cron',
    ])
      expect(out).toMatch(new RegExp(`^ {2}${option}\\b.*\\S`, 'm'));
  });

  it('a truncated video is reported (exit 2), not analysed silently as a shorter one', async () => {
    const dir = tempDir();
    const truncated = join(dir, 'bad.mp4');
    writeFileSync(
      truncated,
      readFileSync(join(REPO_ROOT, 'fixtures/video/person-crossing.mp4')).subarray(0, 100_000),
    );
    const { code, err } = await doorbell('motion', truncated);
    expect(code).toBe(2);
    expect(err).toMatch(/truncated or damaged: \d+ of the 135 frames/);
  });

  it('start --video with a truncated file: refused before starting, one line, exit 2, as motion does', async () => {
    const truncated = join(tempDir(), 'bad.mp4');
    writeFileSync(
      truncated,
      readFileSync(join(REPO_ROOT, 'fixtures/video/person-crossing.mp4')).subarray(0, 100_000),
    );
    const { code, out, err } = await doorbell(
      'start',
      '--video',
      truncated,
      '--port',
      '0',
      '--data-dir',
      tempDir(),
    );
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/--video ".*bad\.mp4": .*truncated or damaged: \d+ of the 135 frames/);
    expect(out).not.toContain('is up');
  });
});

describe('doorbell start banner', () => {
  it('--data-dir moves the default bucket; with --auth the suggested commands take credentials', async () => {
    const dir = tempDir();
    const users = join(dir, 'users.json');
    const add = await doorbell(
      'auth',
      'add-user',
      users,
      '--user',
      'alice',
      '--role',
      'admin',
      '--password',
      'correct horse',
    );
    expect(add.code).toBe(0);
    const run = spawnCli([
      'start',
      '--port',
      '0',
      '--video',
      'none',
      '--data-dir',
      join(dir, 'data'),
      '--auth',
      users,
    ]);
    try {
      await run.waitForOutput('stop it:');
      const banner = run.output();
      expect(banner).toContain(`clips:     file://${join(dir, 'data', 'bucket')}`);
      expect(banner).toMatch(/mosquitto_sub .* -u USER -P PASSWORD /);
      expect(banner).toMatch(/doorbell press .*--username USER --password PASSWORD/);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  }, 30_000);
});
