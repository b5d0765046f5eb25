import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { REPO_ROOT, tempDir } from '../helpers/mqtt.js';

const hasScript = spawnSync('sh', ['-c', 'command -v script'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!hasScript)(
  'doorbell start on a terminal (skipped: util-linux `script` not installed)',
  () => {
    it('Enter rings the bell', async () => {
      const dir = tempDir();
      const cli = `${process.execPath} --import tsx ${join(REPO_ROOT, 'src/cli/main.ts')}`;
      // `script` gives the doorbell a pseudo-terminal, as a developer's shell would.
      const child = spawn(
        'script',
        // exec: the doorbell is script's own child, so it can be found (and stopped) by script's pid.
        [
          '-qfec',
          `exec ${cli} start --port 0 --video none --data-dir ${dir} --bucket ${dir}/bucket`,
          '/dev/null',
        ],
        { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      try {
        await vi.waitFor(
          () => {
            if (out.includes('is up')) child.stdin.write('\r');
            if (!out.includes('ding (seq 1)')) throw new Error(`no ding from Enter; output:\n${out}`);
          },
          { timeout: 20_000, interval: 300 },
        );
        expect(out).toContain('(or press Enter here)');
      } finally {
        // script puts the doorbell in a session of its own: stop it by its pid, then script.
        const doorbell = spawnSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' });
        for (const pid of doorbell.stdout.split('\n').map(Number).filter(Boolean))
          process.kill(pid, 'SIGKILL');
        child.kill('SIGKILL');
      }
    });
  },
);
