import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { ShareDesk } from '../../src/device/share-desk.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { startAgent } from '../helpers/agent.js';
import { REPO_ROOT, tempDir } from '../helpers/mqtt.js';

interface LogLine {
  level: number;
  msg: string;
  err?: string;
}

const ERROR = 50;

function capture() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { lines, logger, errors: () => lines.filter((line) => line.level >= ERROR) };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await vi.waitFor(
    () => {
      if (!condition()) throw new Error(`timed out waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

describe('failures are logged, never unhandled, and never stop the device', () => {
  let broker: EmbeddedBroker | undefined;
  let agent: Agent | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  afterEach(async () => {
    vi.restoreAllMocks();
    process.off('unhandledRejection', onUnhandled);
    await agent?.stop();
    await broker?.stop();
    agent = undefined;
    broker = undefined;
    unhandled.length = 0;
  });

  async function start(
    extra: Parameters<typeof startAgent>[3] & { logger: ReturnType<typeof capture>['logger'] },
  ) {
    broker = new EmbeddedBroker({ port: 0 });
    await broker.start();
    agent = await startAgent(broker.url, 'failing', { button: { debounceMs: 0, chimeWindowMs: 0 } }, extra);
    return agent;
  }

  it('a sharing-policy change whose audit record cannot be written: logged, the change applies', async () => {
    process.on('unhandledRejection', onUnhandled);
    const log = capture();
    const device = await start({ logger: log.logger });
    // What an audit append failure (disk full) looks like from here: the policy step rejects.
    vi.spyOn(ShareDesk.prototype, 'configure').mockRejectedValueOnce(new Error('audit.jsonl: ENOSPC'));
    const profile = device.reconfigure({ privacy: { sharing: { policy: 'ask' } } });
    expect(profile.privacy.sharing.policy).toBe('ask');
    await until(() => log.errors().length > 0, 'an error line');
    // Node reports a rejection left unhandled once the current turn's microtasks are done: one turn is enough.
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
    expect(log.errors().map((line) => line.msg)).toEqual(['the sharing policy change failed']);
  });

  it('a frame listener that throws: logged, the camera and the other listeners keep going', async () => {
    const log = capture();
    const device = await start({
      logger: log.logger,
      video: join(REPO_ROOT, 'fixtures/video/person-crossing.mp4'),
    });
    let seen = 0;
    device.onFrame(() => {
      throw new Error('viewer broke');
    });
    device.onFrame(() => {
      seen++;
    });
    await until(() => seen >= 10, '10 frames after the throwing listener');
    expect(log.errors().some((line) => line.msg === 'a camera frame listener failed')).toBe(true);
    expect(device.state().problems).toEqual([]);
  });

  it('a snapshot after a ding that fails is logged', async () => {
    const log = capture();
    const dir = tempDir();
    const video = join(dir, 'camera.mp4');
    copyFileSync(join(REPO_ROOT, 'fixtures/video/person-crossing.mp4'), video);
    const device = await start({ logger: log.logger, video });
    await until(() => device.cameraFeed?.live === true, 'the camera feed');
    // The decoder has the file open; a snapshot opens it again and finds it gone.
    rmSync(video);
    expect(device.press('button').accepted).toBe(true);
    await until(
      () => log.errors().some((line) => line.msg === 'the snapshot after a ding failed'),
      'the snapshot failure in the log',
    );
  });
});
