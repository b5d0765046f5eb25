import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/replay/runner.js';
import { loadScenario } from '../../src/replay/scenario.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

describe('determinism', () => {
  it('the same scenario twice in one process and once in another gives byte-identical tapes', async () => {
    const loaded = await loadScenario('broker-outage');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const first = await runScenario(loaded.value);
    const second = await runScenario(loaded.value);
    expect(second.text).toBe(first.text);

    const dir = mkdtempSync(join(tmpdir(), 'doorbell-replay-test-'));
    const out = join(dir, 'tape.jsonl');
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'replay', 'broker-outage', '--record', out],
      { cwd: ROOT, encoding: 'utf8', timeout: 180_000 },
    );
    expect(child.status, child.stderr).toBe(0);
    const childTape = readFileSync(out, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    expect(childTape).toBe(first.text);
    // The tape covers clip content, not just events: the camera frames the stored MP4 holds, checked against it.
    expect(first.text).toMatch(/"video":\{"fidelity":"ok","frames":\d+,"height":1080,"source":"[a-z-]+#\d+/);
  }, 360_000);
});
