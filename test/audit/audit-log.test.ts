import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, AuditLogError } from '../../src/audit/audit-log.js';
import { type AuditEntry, GENESIS_HASH, recordHash } from '../../src/audit/audit-record.js';
import { verifyAuditLines, verifyAuditLog } from '../../src/audit/audit-verify.js';
import { canonicalJson } from '../../src/audit/canonical-json.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';

let dir: string;
let fileCount = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'audit-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function decision(requestId: string, decision: 'approve' | 'decline' = 'decline'): AuditEntry {
  return { type: 'share-decision', actor: 'owner', requestId, decision };
}

async function writeLog(count: number): Promise<{ path: string; lines: string[] }> {
  const path = join(dir, `log-${++fileCount}`, 'audit.jsonl');
  const clock = new VirtualClock(Date.UTC(2026, 2, 1));
  const log = new AuditLog({ path, clock, fsync: false });
  for (let i = 1; i <= count; i++) {
    await log.append(decision(`req-${i}`));
    clock.advance(1000);
  }
  await log.stop();
  const text = await readFile(path, 'utf8');
  return { path, lines: text.trimEnd().split('\n') };
}

describe('AuditLog', () => {
  it('appends a hash chain that verifies, with time from the clock', async () => {
    const { path, lines } = await writeLog(5);
    expect(lines).toHaveLength(5);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.map((r) => r['seq'])).toEqual([1, 2, 3, 4, 5]);
    expect(records[0]!['prevHash']).toBe(GENESIS_HASH);
    expect(records[1]!['prevHash']).toBe(records[0]!['hash']);
    expect(records[2]!['at']).toBe('2026-03-01T00:00:02.000Z');
    expect(records[4]!['hash']).toBe(recordHash(records[4]!));
    expect(await verifyAuditLog(path)).toEqual({ ok: true, records: 5, head: records[4]!['hash'] });
  });

  it('serializes concurrent appends in call order', async () => {
    const path = join(dir, 'concurrent.jsonl');
    const log = new AuditLog({ path, clock: new VirtualClock(), fsync: false });
    const records = await Promise.all(Array.from({ length: 25 }, (_, i) => log.append(decision(`c-${i}`))));
    await log.stop();
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(records.map((r) => (r as { requestId: string }).requestId)[24]).toBe('c-24');
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 25 });
  });

  it('continues the chain of an existing file after a restart', async () => {
    const { path, lines } = await writeLog(3);
    const log = new AuditLog({ path, clock: new VirtualClock(), fsync: true });
    expect(await log.start()).toEqual({ seq: 3, hash: (JSON.parse(lines[2]!) as { hash: string }).hash });
    const [fourth] = await log.appendAll([decision('r4'), decision('r5', 'approve')]);
    await log.stop();
    await log.stop();
    expect(fourth!.seq).toBe(4);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: true, records: 5 });
  });

  it('refuses to extend a file whose last line is incomplete', async () => {
    const { path, lines } = await writeLog(2);
    await writeFile(path, `${lines.join('\n')}\n{"seq":3,"at":`);
    const log = new AuditLog({ path, clock: new VirtualClock(), fsync: false });
    await expect(log.append(decision('x'))).rejects.toThrow(AuditLogError);
    await expect(log.append(decision('x'))).rejects.toThrow(/last line is incomplete/);
    expect(await verifyAuditLog(path)).toMatchObject({ ok: false, line: 3 });
  });
});

describe('audit chain verification', () => {
  let lines: string[];
  beforeAll(async () => {
    lines = (await writeLog(6)).lines;
  });

  it('detects an edited line', () => {
    const edited = [...lines];
    edited[2] = edited[2]!.replace('"decline"', '"approve"');
    expect(edited[2]).not.toBe(lines[2]);
    expect(verifyAuditLines(edited)).toEqual({
      ok: false,
      line: 3,
      reason: 'hash does not match the content — the line was edited',
      records: 2,
    });
  });

  it('writes canonical lines, and refuses a duplicate key even when JSON.parse keeps the hashed value', () => {
    for (const line of lines) expect(line).toBe(canonicalJson(JSON.parse(line)));
    const target = lines.findIndex((line) => line.includes('"decision":"decline"'));
    const duplicated = [...lines];
    duplicated[target] = lines[target]!.replace(/^\{/, '{"decision":"approve",');
    expect(verifyAuditLines(duplicated)).toEqual({
      ok: false,
      line: target + 1,
      reason: 'not in canonical form (a duplicate key, or reformatted) — the line was edited',
      records: target,
    });
    const spaced = [...lines];
    spaced[target] = JSON.stringify(JSON.parse(lines[target]!), null, 1).replace(/\n/g, '');
    expect(verifyAuditLines(spaced)).toMatchObject({ ok: false, line: target + 1 });
    // A log written before lines were canonical (keys in the order appended) still verifies.
    const legacy = lines.map((line) => {
      const { seq, at, prevHash, hash, ...entry } = JSON.parse(line) as Record<string, unknown>;
      return JSON.stringify({ seq, at, ...entry, prevHash, hash });
    });
    expect(legacy[0]).not.toBe(lines[0]);
    expect(verifyAuditLines(legacy)).toMatchObject({ ok: true, records: lines.length });
  });

  it('detects an edited line whose hash was recomputed, at the next line', () => {
    const record = JSON.parse(lines[2]!) as Record<string, unknown>;
    record['decision'] = 'approve';
    record['hash'] = recordHash(record);
    const edited = [...lines];
    edited[2] = JSON.stringify(record);
    expect(verifyAuditLines(edited)).toMatchObject({
      ok: false,
      line: 4,
      reason: expect.stringMatching(/prevHash/),
    });
  });

  it('detects a deleted line', () => {
    const deleted = lines.filter((_, i) => i !== 3);
    expect(verifyAuditLines(deleted)).toMatchObject({
      ok: false,
      line: 4,
      reason: expect.stringMatching(/removed, inserted or reordered/),
    });
  });

  it('detects a deleted first line', () => {
    expect(verifyAuditLines(lines.slice(1))).toMatchObject({ ok: false, line: 1 });
  });

  it('detects a reordered line', () => {
    const reordered = [lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)];
    expect(verifyAuditLines(reordered)).toMatchObject({ ok: false, line: 2 });
  });

  it('detects an inserted (duplicated) line', () => {
    const inserted = [...lines.slice(0, 3), lines[2]!, ...lines.slice(3)];
    expect(verifyAuditLines(inserted)).toMatchObject({ ok: false, line: 4 });
  });

  it('detects a dropped tail only against an expected head', () => {
    const head = (JSON.parse(lines[5]!) as { hash: string }).hash;
    expect(verifyAuditLines(lines.slice(0, 5))).toMatchObject({ ok: true, records: 5 });
    expect(verifyAuditLines(lines.slice(0, 5), head)).toMatchObject({ ok: false, line: 6 });
    expect(verifyAuditLines(lines, head)).toEqual({ ok: true, records: 6, head });
  });

  it('reports garbage lines', () => {
    expect(verifyAuditLines([lines[0]!, 'not json'])).toMatchObject({
      ok: false,
      line: 2,
      reason: 'not valid JSON',
    });
    expect(verifyAuditLines([lines[0]!, ''])).toMatchObject({ ok: false, line: 2, reason: 'empty line' });
  });
});

describe('canonicalJson', () => {
  it('ignores key order and undefined members, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: [3, { d: 'x', c: null }], u: undefined })).toBe(
      '{"a":[3,{"c":null,"d":"x"}],"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });
});
