import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const depcruise = join(root, 'node_modules/.bin/depcruise');

interface Cruise {
  summary: { violations: Array<{ from: string; rule: { name: string } }> };
}

/** The rules of .dependency-cruiser.cjs run on a tree laid out like src/, as `npm run deps` runs them on src/. */
async function cruise(cwd: string): Promise<Cruise> {
  const args = ['--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'json', 'src'];
  // depcruise exits non-zero when it finds violations; the JSON report is on stdout either way.
  const { stdout } = await promisify(execFile)(depcruise, args, { cwd, maxBuffer: 64 << 20 }).catch(
    (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
  );
  return JSON.parse(stdout) as Cruise;
}

describe('dependency rules (npm run deps)', () => {
  it('catch every forbidden import in the fixture tree, and only those', async () => {
    const { summary } = await cruise(join(root, 'test/fixtures/dependency-rules'));
    const found = summary.violations.map((v) => `${v.rule.name}: ${v.from}`).sort();
    expect(found).toEqual([
      'config-reads-only: src/config/load-profile.ts',
      'device-not-adapters: src/device/commands.ts',
      'events-not-mqtt: src/events/payload.ts',
      'fleet-not-replay: src/fleet/fleet.ts',
      'motion-not-video: src/motion/detector.ts',
      'no-cycles: src/agent/capability.ts',
      'not-to-unresolvable: src/agent/typo.ts',
      'nothing-imports-cli: src/agent/agent.ts',
      'onvif-maps-core-events: src/onvif/events.ts',
      'pure-cores-no-io: src/motion/detector.ts',
      'recording-does-not-upload: src/recording/recorder.ts',
      'storage-does-not-decide-policy: src/storage/upload-queue.ts',
      'stream-serves-only: src/stream/rtsp.ts',
      'video-does-not-detect: src/video/decode.ts',
    ]);
  });
});
