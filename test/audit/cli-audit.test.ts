import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { runInProcess } from '../helpers/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-audit-'));
  const log = new AuditLog({
    path: join(dir, '.doorbell/front-door/audit.jsonl'),
    clock: new VirtualClock(),
    fsync: false,
  });
  for (const decision of ['deny', 'decline', 'timeout'] as const) {
    await log.append({ type: 'share-decision', actor: 'policy', requestId: `r-${decision}`, decision });
  }
  await log.stop();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cli = (args: string[]) => runInProcess(args, { cwd: dir });

describe('doorbell audit verify', () => {
  it('reports ok, the record count and the head for the default log', async () => {
    const lines = (await readFile(join(dir, '.doorbell/front-door/audit.jsonl'), 'utf8')).trim().split('\n');
    const head = (JSON.parse(lines[2]!) as { hash: string }).hash;
    expect(await cli(['audit', 'verify'])).toEqual({
      code: 0,
      stdout: `ok, 3 records, head ${head}\n`,
      stderr: '',
    });
    expect((await cli(['audit', 'verify', '.doorbell/front-door/audit.jsonl', '--head', head])).code).toBe(0);
  });

  it('exits 1 naming the first bad line of a tampered log', async () => {
    const text = await readFile(join(dir, '.doorbell/front-door/audit.jsonl'), 'utf8');
    await writeFile(join(dir, 'edited.jsonl'), text.replace('r-decline', 'r-approve'));
    const result = await cli(['audit', 'verify', 'edited.jsonl']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /edited\.jsonl: line 2: hash does not match the content — the line was edited/,
    );
  });

  it('exits 1 when the newest record was dropped and --head pins it', async () => {
    const lines = (await readFile(join(dir, '.doorbell/front-door/audit.jsonl'), 'utf8')).trim().split('\n');
    const head = (JSON.parse(lines[2]!) as { hash: string }).hash;
    await writeFile(join(dir, 'short.jsonl'), `${lines.slice(0, 2).join('\n')}\n`);
    expect((await cli(['audit', 'verify', 'short.jsonl'])).code).toBe(0);
    expect((await cli(['audit', 'verify', 'short.jsonl', '--head', head])).code).toBe(1);
  });

  it('exits 2 for a missing file', async () => {
    const result = await cli(['audit', 'verify', 'nope.jsonl']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/nope\.jsonl not found/);
  });
});
