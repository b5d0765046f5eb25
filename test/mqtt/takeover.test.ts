import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { DeviceLink } from '../../src/mqtt/device-link.js';
import { MemoryOutbox } from '../../src/mqtt/outbox.js';
import { deviceTopics } from '../../src/mqtt/topics.js';
import { mosquittoPath, startMosquitto } from '../helpers/mqtt.js';

interface LogLine {
  level: number;
  msg: string;
}

function capturingLogger(lines: LogLine[]) {
  return pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
}

const WARN = 40;

interface Broker {
  url: string;
  stop(): Promise<void>;
}

/** Two doorbells with one id on one broker: how the broker drops the older session differs, the outcome must not. */
function twinSuite(name: string, protocolVersion: 4 | 5, startBroker: () => Promise<Broker>): void {
  describe(`two doorbells with the same id on ${name} (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, () => {
    let broker: Broker;
    const logs: LogLine[][] = [[], []];
    const links: DeviceLink[] = [];
    let connects = 0;

    beforeAll(async () => {
      broker = await startBroker();
      for (const lines of logs) {
        const link = new DeviceLink({
          connection: BrokerConnectionSchema.parse({
            url: broker.url,
            reconnectPeriodMs: 100,
            protocolVersion,
          }),
          prefix: 'doorbell',
          deviceId: 'twin',
          topics: deviceTopics('doorbell', 'twin'),
          outbox: new MemoryOutbox(),
          commands: {},
          logger: capturingLogger(lines),
          onConnected: () => {
            connects++;
          },
        });
        links.push(link);
        await link.start();
      }
      // Without a back-off the two would reconnect every 100 ms: about 28 sessions in these 3 s.
      await new Promise((r) => setTimeout(r, 3000));
    }, 10_000);

    afterAll(async () => {
      for (const link of links) await link.stop();
      await broker?.stop();
    });

    it('each logs one warning that names the id', () => {
      for (const lines of logs) {
        const warnings = lines.filter((line) => line.level === WARN && line.msg.includes('"twin"'));
        expect(warnings, JSON.stringify(lines.map((l) => l.msg))).toHaveLength(1);
        expect(warnings[0]!.msg).toMatch(/another client is connected as device "twin"/);
      }
    });

    it('and they back off instead of knocking each other off every reconnect period', () => {
      expect(connects).toBeGreaterThanOrEqual(4);
      expect(connects).toBeLessThan(16);
    });
  });
}

twinSuite('aedes', 4, async () => {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  return { url: broker.url, stop: () => broker.stop() };
});

if (mosquittoPath()) twinSuite('mosquitto', 5, () => startMosquitto());
