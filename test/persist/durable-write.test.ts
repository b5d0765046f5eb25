import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  InPlaceRecord,
  isTempName,
  removeStaleTemps,
  removeStaleTempsSync,
  tempPathFor,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../../src/persist/durable-write.js';

const WRITER = join(import.meta.dirname, 'fixtures/atomic-writer.ts');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'doorbell-durable-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['writeFileAtomic', writeFileAtomic],
  ['writeFileAtomicSync', async (path: string, data: string) => writeFileAtomicSync(path, data)],
])('%s', (_name, write) => {
  it('creates and replaces the file, leaving no temp file', async () => {
    const path = join(dir, 'state.json');
    await write(path, 'first');
    await write(path, 'second');
    expect(await readFile(path, 'utf8')).toBe('second');
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('keeps the old file and removes its temp file when the write fails', async () => {
    // A non-empty folder in the way: the rename fails after the temp file was written and synced.
    const path = join(dir, 'blocked');
    await mkdir(path);
    await writeFile(join(path, 'inside'), 'old');
    await expect(write(path, 'new')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['blocked']);
    expect(await readFile(join(path, 'inside'), 'utf8')).toBe('old');
  });
});

describe('crash safety', () => {
  it('a reader never sees a torn file while a writer is killed mid-loop; its temp files are cleaned', async () => {
    const path = join(dir, 'seen');
    const bytes = 256 * 1024;
    const writer = spawn(process.execPath, ['--import', 'tsx', WRITER, path, String(bytes)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((ready, fail) => {
        writer.stdout.once('data', () => ready());
        writer.once('exit', (code) => fail(new Error(`writer exited ${code}`)));
      });
      const contents = new Set<string>();
      for (let i = 0; i < 300; i++) {
        const text = readFileSync(path, 'latin1');
        expect(text.length).toBe(bytes);
        expect(text === 'a'.repeat(bytes) || text === 'b'.repeat(bytes)).toBe(true);
        contents.add(text[0]!);
        await new Promise((next) => setImmediate(next));
      }
    } finally {
      const exited = new Promise((done) => writer.once('exit', done));
      writer.kill('SIGKILL');
      await exited;
    }
    const after = readFileSync(path, 'latin1');
    expect(after === 'a'.repeat(bytes) || after === 'b'.repeat(bytes)).toBe(true);
    // Whatever temp file the kill left is hidden from a listing that skips temp names, and cleaned at open.
    await removeStaleTemps(path);
    expect(await readdir(dir)).toEqual(['seen']);
  });

  it('removes only the temp files of the given path', async () => {
    const path = join(dir, 'overrides.json');
    await writeFile(tempPathFor(path), 'half of');
    await writeFile(tempPathFor(path), 'half of');
    await writeFile(tempPathFor(join(dir, 'other.json')), 'keep');
    await writeFile(path, '{}');
    expect(removeStaleTempsSync(path)).toBe(2);
    const left = (await readdir(dir)).sort();
    expect(left).toHaveLength(2);
    expect(left).toContain('overrides.json');
    expect(left.filter(isTempName)).toHaveLength(1);
    expect(await removeStaleTemps(join(dir, 'missing-dir', 'x'))).toBe(0);
  });
});

describe('InPlaceRecord', () => {
  it('overwrites a fixed-width record at offset 0', async () => {
    const path = join(dir, 'seq');
    const record = new InPlaceRecord(path, 5);
    record.write('12345');
    record.write('7');
    record.close();
    expect(await readFile(path, 'utf8')).toBe('    7\n');
    expect(() => new InPlaceRecord(path, 2).write('123')).toThrow(RangeError);
  });
});
