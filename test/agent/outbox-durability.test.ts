import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DingEventSchema } from '../../src/events/schemas.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { startAgent } from '../helpers/agent.js';
import { REPO_ROOT, spawnCli, subscriber, tempDir } from '../helpers/mqtt.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const seqs = (texts: string[]) => texts.map((t) => DingEventSchema.parse(JSON.parse(t)).seq);

describe('events survive broker outages and crashes', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  beforeAll(() => broker.start());
  afterAll(() => broker.stop());

  it('broker unreachable → events queue and arrive after reconnect, in order, none lost', async () => {
    const proxy = new TcpProxy(broker.port);
    await proxy.start();
    const watch = await subscriber(broker.url, 'doorbell/outage/events/ding');
    const agent = await startAgent(proxy.url, 'outage', { button: { debounceMs: 0, chimeWindowMs: 0 } });
    for (let i = 0; i < 3; i++) agent.press('button');
    await watch.waitFor((ms) => ms.length === 3, 5000, 'dings before the outage');
    proxy.unplug();
    for (let i = 0; i < 20; i++) agent.press('button');
    expect(agent.doorbell.state().dings).toBe(23);
    // unplug() destroyed both sockets: the 20 can only be in the outbox, none on the way.
    expect(agent.doorbell.state().queues.outbox).toBeGreaterThanOrEqual(20);
    expect(watch.messages).toHaveLength(3);
    proxy.plug();
    await watch.waitFor((ms) => ms.length >= 23, 10_000, 'all 23 dings after reconnect');
    const received = seqs(watch.messages.map((m) => m.text));
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(new Set(received).size).toBe(23);
    await agent.stop();
    await watch.client.endAsync();
    await proxy.stop();
  });

  it('kill -9 while the broker is unreachable → the restarted agent delivers the queued events, in order', async () => {
    const proxy = new TcpProxy(broker.port);
    await proxy.start();
    proxy.unplug();
    const dataDir = tempDir();
    const watch = await subscriber(broker.url, 'doorbell/crashy/events/#');
    const args = [
      'start',
      '--id',
      'crashy',
      '--broker',
      proxy.url,
      '--data-dir',
      dataDir,
      '--bucket',
      join(dataDir, 'bucket'),
    ];
    // The camera sees a person cross while the broker is unreachable: motion events pile up in the outbox.
    const first = spawnCli([...args, '--video', join(REPO_ROOT, 'fixtures/video/person-crossing.mp4')]);
    const outbox = join(dataDir, 'crashy', 'outbox', 'outbox.jsonl');
    const queued = () => (existsSync(outbox) ? readFileSync(outbox, 'utf8') : '');
    await vi.waitFor(
      () => {
        if (!queued().includes('\\"type\\":\\"end\\"'))
          throw new Error(`no motion end queued; output:\n${first.output()}`);
      },
      { timeout: 40_000, interval: 100 },
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const pending = queued().trim().split('\n').length;
    expect(watch.messages).toHaveLength(0);

    proxy.plug();
    const second = spawnCli([...args, '--video', 'none']);
    await watch.waitFor((ms) => ms.length >= pending, 15_000, `${pending} queued events`);
    const events = watch.messages.map((m) => JSON.parse(m.text) as { seq: number; type?: string });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]!.type).toBe('start');
    expect(events.at(-1)!.type).toBe('end');
    // The sequence continues after the restart instead of starting over.
    // Pressed until the restarted device is online and answers (a press before that is refused).
    await vi.waitFor(
      async () => {
        if (watch.on('doorbell/crashy/events/ding').length > 0) return;
        await watch.client.publishAsync('doorbell/crashy/request/press', '{}');
        throw new Error('no ding from the restarted device');
      },
      { timeout: 15_000, interval: 300 },
    );
    const ding = DingEventSchema.parse(JSON.parse(watch.on('doorbell/crashy/events/ding')[0]!.text));
    expect(ding.seq).toBe(pending + 1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    await watch.client.endAsync();
    await proxy.stop();
  }, 90_000);
});
