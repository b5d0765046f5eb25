/**
 * Ctrl+C in a terminal signals the whole foreground process group, the agent's ffmpeg children included. The agent
 * promises to finish the open clip before it exits, so a clip being encoded at that moment must still land.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli, tempDir } from '../helpers/mqtt.js';

/** Pids of processes whose command line mentions all of `needles`. */
function processesWith(...needles: string[]): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (needles.every((needle) => cmdline.includes(needle))) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Ctrl+C in a terminal', () => {
  it('SIGINT to the process group while a clip encodes: the agent finishes it, the clip lands', async () => {
    const dir = tempDir();
    const profile = join(dir, 'profile.json');
    const base = JSON.parse(readFileSync(join(REPO_ROOT, 'device-profiles/wired-1080p.json'), 'utf8'));
    writeFileSync(
      profile,
      JSON.stringify({
        ...base,
        $schema: undefined,
        video: join(REPO_ROOT, base.video),
        motion: { ...base.motion, enabled: false },
        recording: { preRollMs: 1000, postRollMs: 1000, maxClipMs: 60000 },
      }),
    );
    const agent = spawn(
      process.execPath,
      [
        ...['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'start', '--id', 'ctrl-c'],
        ...['--port', '0', '--data-dir', dir, '--profile', profile],
      ],
      // Its own process group, as a shell gives a foreground job: the group is what Ctrl+C signals.
      {
        cwd: REPO_ROOT,
        env: { ...process.env, DOORBELL_LOG_FORMAT: 'json' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    let out = '';
    agent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    agent.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((done) => agent.once('exit', (code) => done(code)));
    try {
      let broker: string | undefined;
      for (const deadline = Date.now() + 30_000; !broker; await sleep(100)) {
        broker = /is up; broker (mqtt:\/\/\S+)/.exec(out)?.[1];
        if (Date.now() > deadline || agent.exitCode !== null)
          throw new Error(`the agent did not come up:\n${out}`);
      }
      await sleep(2_000); // the pre-roll fills
      const press = runCli(['press', '--id', 'ctrl-c', '--broker', broker]);
      expect(press.code, press.stderr).toBe(0);

      // The clip's encoder: an x264 ffmpeg writing under the data dir.
      let encoders: number[] = [];
      for (const deadline = Date.now() + 30_000; encoders.length === 0; await sleep(20)) {
        encoders = processesWith('libx264', dir);
        if (Date.now() > deadline) throw new Error(`no clip encode started:\n${out}`);
      }
      process.kill(-agent.pid!, 'SIGINT');

      expect(await Promise.race([exited, sleep(60_000).then(() => 'hung')]), out).toBe(0);
      const clips = filesUnder(join(dir, 'bucket')).filter((file) => file.endsWith('.mp4'));
      expect(clips, out).toHaveLength(1);
      expect(out).not.toContain('clip recording failed');
      expect(processesWith(dir), 'no ffmpeg left behind').toEqual([]);
    } finally {
      try {
        process.kill(-agent.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 120_000);
});
