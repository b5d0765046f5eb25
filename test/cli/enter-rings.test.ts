import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
        ['-qfec', `${cli} start --port 0 --video none --data-dir ${dir} --bucket ${dir}/bucket`, '/dev/null'],
        { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      try {
        const deadline = Date.now() + 20_000;
        while (!out.includes('ding (seq 1)')) {
          if (Date.now() > deadline) throw new Error(`no ding from Enter; output:\n${out}`);
          if (out.includes('is up')) child.stdin.write('\r');
          await new Promise((r) => setTimeout(r, 300));
        }
        expect(out).toContain('(or press Enter here)');
      } finally {
        child.kill('SIGKILL');
        spawnSync('pkill', ['-f', `--data-dir ${dir}`]);
      }
    });
  },
);
