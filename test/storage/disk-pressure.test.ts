import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { DurableOutbox } from '../../src/mqtt/outbox.js';
import { REPO_ROOT, type Recorder, subscriber, tempDir } from '../helpers/mqtt.js';

const VIDEO = join(REPO_ROOT, 'fixtures/video/person-crossing.mp4');

function mount(dir: string, options: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]).status === 0;
}
function remount(dir: string, mode: 'ro' | 'rw'): void {
  const result = spawnSync('mount', ['-o', `remount,${mode}`, dir], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`remount ${mode} ${dir}: ${result.stderr}`);
}
// A real full disk and a real read-only mount need mount(8) (root, or a container that allows it).
const probeDir = tempDir('doorbell-mount-probe-');
const canMount = mount(probeDir, 'size=1m') && spawnSync('umount', [probeDir]).status === 0;

const mounted: string[] = [];
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  for (const dir of mounted.splice(0).reverse()) spawnSync('umount', ['-l', dir]);
});

interface Harness {
  agent: Agent;
  watch: Recorder;
  logs: string[];
  deviceDir: string;
}

async function startDevice(dataDir: string, bucketDir: string, deviceId: string): Promise<Harness> {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  stops.push(() => broker.stop());
  const loaded = await loadProfile('wired-1080p');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const profile = DeviceProfileSchema.parse({
    ...loaded.value.profile,
    button: { debounceMs: 0, chimeWindowMs: 0 },
    recording: { preRollMs: 500, postRollMs: 500, maxClipMs: 10_000 },
  });
  const logs: string[] = [];
  const watch = await subscriber(broker.url, `doorbell/${deviceId}/#`);
  stops.push(() => watch.client.endAsync());
  const agent = new Agent({
    deviceId,
    profile: { ...loaded.value, profile },
    broker: { kind: 'external', connection: BrokerConnectionSchema.parse({ url: broker.url }) },
    dataDir,
    bucket: bucketDir,
    video: VIDEO,
    logger: pino({ level: 'info' }, { write: (line: string) => logs.push(line) }),
    bootMs: 0,
    diskReserveBytes: 1024 * 1024,
  });
  await agent.start();
  stops.push(() => agent.stop());
  await until(() => agent.doorbell.currentStatus !== 'booting', 5_000, 'boot');
  // A press records a clip only once the camera shows something.
  await until(() => agent.cameraFeed?.live === true, 15_000, 'camera feed');
  return { agent, watch, logs, deviceDir: join(dataDir, deviceId) };
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}

/** Every event with a seq the subscriber saw, by seq. */
function seqs(watch: Recorder, deviceId: string): number[] {
  return watch.messages
    .filter((m) => m.topic.startsWith(`doorbell/${deviceId}/events/`))
    .map((m) => (JSON.parse(m.text) as { seq: number }).seq)
    .sort((a, b) => a - b);
}

function expectNoGapNoDuplicate(list: number[]): void {
  expect(list.length).toBeGreaterThan(0);
  expect(new Set(list).size).toBe(list.length);
  expect(list.at(-1)! - list[0]! + 1).toBe(list.length);
}

/** A press once the device recovered: its clip is stored (not lost), and the seq numbers still run unbroken. */
async function expectPressStoresClip({ agent, watch }: Harness, deviceId: string): Promise<void> {
  const stored = () =>
    watch.on(`doorbell/${deviceId}/events/clip`).filter((m) => JSON.parse(m.text).status !== 'lost').length;
  const before = stored();
  expect(agent.press('button').accepted).toBe(true);
  await watch.waitFor(() => stored() > before, 40_000);
  expectNoGapNoDuplicate(seqs(watch, deviceId));
}

/** Fills the file system under `dir` to the last byte. */
async function fillDisk(dir: string): Promise<void> {
  const chunk = Buffer.alloc(256 * 1024, 1);
  let n = 0;
  for (;;) {
    try {
      await writeFile(join(dir, `filler-${n}`), chunk);
      n += 1;
    } catch {
      break;
    }
  }
  for (let size = 64 * 1024; size >= 512; size /= 2) {
    try {
      for (;;) await writeFile(join(dir, `filler-${n++}`), Buffer.alloc(size, 1));
    } catch {}
  }
}

describe.skipIf(!canMount)('disk pressure is a state (tmpfs)', () => {
  it('a full disk: `disk` in state within 1 s, events kept in order with no seq gap, clips refused, recovery', async () => {
    const root = tempDir('doorbell-full-');
    const dataDir = join(root, 'data');
    expect(mount(dataDir, 'size=8m')).toBe(true);
    mounted.push(dataDir);
    const device = await startDevice(dataDir, join(root, 'bucket'), 'full');
    const { agent, watch } = device;
    for (let i = 0; i < 3; i++) expect(agent.press('button').accepted).toBe(true);
    await watch.waitFor((ms) => ms.filter((m) => m.topic.endsWith('/events/ding')).length === 3);
    expect(agent.state().problems).not.toContain('disk');

    const fillers = join(dataDir, 'fill');
    mkdirSync(fillers);
    await fillDisk(fillers);
    await until(() => agent.state().problems.includes('disk'), 1_000, 'disk problem');
    expect(agent.state().healthy).toBe(false);

    // Presses while the disk is full (more than the outbox file's last page holds): answered, delivered from
    // memory, no seq burned.
    for (let i = 0; i < 30; i++) expect(agent.press('button').accepted).toBe(true);
    await watch.waitFor((ms) => ms.filter((m) => m.topic.endsWith('/events/ding')).length === 33, 10_000);
    // They really met the full disk (and waited in memory): the outbox's append was refused.
    expect(device.logs.some((l) => l.includes('outbox.jsonl: disk full (ENOSPC)'))).toBe(true);
    // Their clips are refused, and the log says why, with the path.
    await until(
      () => device.logs.some((l) => l.includes('refused') && l.includes('disk full') && l.includes(dataDir)),
      30_000,
      'a clip refused for a full disk',
    );
    // …and events/clip says so for the trigger: status "lost", with the reason.
    await watch.waitFor((ms) =>
      ms.some((m) => m.topic.endsWith('/events/clip') && JSON.parse(m.text).reason?.includes('disk full')),
    );

    await rm(fillers, { recursive: true, force: true });
    await until(() => !agent.state().problems.includes('disk'), 5_000, 'recovery');
    // Every event reached the disk after all: the outbox file holds the seq numbers of every ding.
    // An append the full disk cut short leaves a torn line; the outbox skips it on load, and so does this.
    const onDisk = readFileSync(join(device.deviceDir, 'outbox', 'outbox.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('/events/ding'))
      .flatMap((line) => {
        try {
          return [JSON.parse(JSON.parse(line).payload).seq as number];
        } catch {
          return [];
        }
      });
    const delivered = watch.on('doorbell/full/events/ding').map((m) => JSON.parse(m.text).seq as number);
    expect([...new Set(onDisk)].sort((a, b) => a - b)).toEqual(delivered.sort((a, b) => a - b));
    expectNoGapNoDuplicate(seqs(watch, 'full'));

    // Recovered: a press's clip reaches the bucket again.
    await expectPressStoresClip(device, 'full');
  }, 90_000);

  it('a seq that went out from memory while the disk was full is never given out again after a crash', async () => {
    const root = tempDir('doorbell-outbox-full-');
    if (!mount(root, 'size=1m')) throw new Error(`cannot mount tmpfs on ${root}`);
    mounted.push(root);
    const dir = join(root, 'outbox');
    const outbox = new DurableOutbox(dir);
    const event = (seq: number) => ({
      topic: 'doorbell/full/events/ding',
      // Bigger than the last page of the file, which a full tmpfs may still take.
      payload: JSON.stringify({ seq, padding: 'x'.repeat(16 * 1024) }),
      qos: 1 as const,
      retain: false,
    });
    outbox.acknowledge(outbox.append(event(1)).n);
    const fillers = join(root, 'fill');
    mkdirSync(fillers);
    await fillDisk(fillers);
    const fromMemory = [2, 3, 4].map((seq) => outbox.append(event(seq)));
    expect(outbox.heldInMemory).toBe(3);
    for (const entry of fromMemory) outbox.acknowledge(entry.n);
    // A kill -9 now: the three never reached the file, but the broker has them.
    expect(new DurableOutbox(dir).lastEventSeq).toBe(4);
  });

  it('a read-only spool from the start: `spool` in state within 1 s, clips refused as read-only, recovery', async () => {
    const root = tempDir('doorbell-ro-');
    const dataDir = join(root, 'data');
    const spool = join(dataDir, 'ro', 'spool');
    expect(mount(spool, 'size=8m')).toBe(true);
    mounted.push(spool);
    mkdirSync(join(spool, 'entries'));
    mkdirSync(join(spool, 'failed'));
    remount(spool, 'ro');
    const device = await startDevice(dataDir, join(root, 'bucket'), 'ro');
    const { agent, watch } = device;
    // Found while the agent started, before the doorbell existed: in its state from the first moment.
    expect(agent.state().problems).toContain('spool');

    expect(agent.press('button').accepted).toBe(true);
    await watch.waitFor((ms) => ms.some((m) => m.topic.endsWith('/events/ding')));
    await until(
      () => device.logs.some((l) => l.includes('refused') && l.includes('read-only') && l.includes(spool)),
      30_000,
      'a clip refused for a read-only spool',
    );

    remount(spool, 'rw');
    await until(() => !agent.state().problems.includes('spool'), 10_000, 'spool recovery');
    await expectPressStoresClip(device, 'ro');
  }, 90_000);
});
