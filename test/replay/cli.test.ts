import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { command } from '../../src/cli/commands/replay.js';
import type { CliIo } from '../../src/cli/io.js';
import { UserError } from '../../src/cli/io.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'doorbell-replay-cli-'));
  dirs.push(dir);
  return dir;
}

function io(cwd: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk) => (out += chunk));
  stderr.on('data', (chunk) => (err += chunk));
  const value: CliIo = { stdout, stderr, stdin: new PassThrough(), env: {}, cwd };
  return { io: value, out: () => out, err: () => err };
}

describe('doorbell replay', () => {
  it('records a tape, passes against it, fails with a readable diff against a changed one, and writes JUnit', async () => {
    const dir = tempDir();
    const first = io(dir);
    expect(await command.run(['porch-light-at-night', '--record', 'tape.jsonl'], first.io)).toBe(0);
    expect(first.out()).toContain('expect motion.start = 0 (got 0)');
    const tape = readFileSync(join(dir, 'tape.jsonl'), 'utf8');

    const again = io(dir);
    expect(await command.run(['porch-light-at-night', '--expect', 'tape.jsonl'], again.io)).toBe(0);
    expect(again.out()).toContain('tape matches');

    writeFileSync(join(dir, 'changed.jsonl'), tape.replace('"seed":3', '"seed":4'));
    const changed = io(dir);
    const code = await command.run(
      ['porch-light-at-night', '--expect', 'changed.jsonl', '--junit', 'r.xml'],
      changed.io,
    );
    expect(code).toBe(1);
    expect(changed.out()).toContain('tapes differ at line 1');
    expect(changed.out()).toContain('seed: 4 → 3');
    const junit = readFileSync(join(dir, 'r.xml'), 'utf8');
    expect(junit).toContain('<testsuite name="porch-light-at-night"');
    expect(junit).toContain('failures="1"');
  }, 60_000);

  it('rejects a bad scenario with one line per problem and exit code 2', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({
        name: 'bad',
        video: null,
        durationMs: 5000,
        timeline: [{ at: 100, do: 'press', source: 'elbow' }],
      }),
    );
    const run = io(dir);
    const error = await command.run(['bad.json'], run.io).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect(run.err().trim().split('\n')).toEqual([
      expect.stringMatching(/bad\.json: timeline\.0\.source: .*"elbow"/),
    ]);
  });

  it('prints the scenario JSON Schema', async () => {
    const run = io(tmpdir());
    expect(await command.run(['--schema'], run.io)).toBe(0);
    expect(JSON.parse(run.out()).properties.timeline).toBeDefined();
  });
});
