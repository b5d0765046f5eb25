import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../helpers/mqtt.js';

/** Whether something listens on 127.0.0.1:port right now. */
function listening(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

describe('npm start under a process manager', () => {
  it('SIGTERM sent to npm reaches the agent: it stops cleanly, exit 0, broker port closed', async () => {
    // As a process manager runs it: `npm start` is the main pid, and only that pid gets the signal.
    const args = [
      '--port',
      '0',
      '--ui-port',
      '0',
      '--data-dir',
      tempDir(),
      '--video',
      'none',
      '--id',
      'npm-start',
    ];
    const npm = spawn('npm', ['start', '--silent', '--', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DOORBELL_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a failing test can take the whole tree down below.
      detached: true,
    });
    let out = '';
    npm.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    npm.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      npm.once('exit', (code, signal) => done({ code, signal })),
    );
    try {
      // npm start builds first: give a loaded machine time.
      const deadline = Date.now() + 60_000;
      let port: number | undefined;
      while (port === undefined) {
        const match = /is up; broker mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (match) port = Number(match[1]);
        else if (npm.exitCode !== null) throw new Error(`npm start exited (${npm.exitCode}):\n${out}`);
        else if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}`);
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(await listening(port), 'the broker listens once the banner is out').toBe(true);

      npm.kill('SIGTERM');
      const result = await Promise.race([
        exited,
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000)),
      ]);
      expect(result, out).toEqual({ code: 0, signal: null });
      expect(out).toContain('stopping: finishing the open clip, publishing offline');
      expect(await listening(port), 'nothing (no orphaned agent) listens on the broker port').toBe(false);
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 90_000);
});
