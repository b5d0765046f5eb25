import { describe, expect, it } from 'vitest';
import type { Outbox, OutboxMessage } from '../../src/mqtt/outbox.js';

const message = (i: number): OutboxMessage => ({ topic: `t/${i}`, payload: `p${i}`, qos: 1, retain: false });

/**
 * The Outbox contract, run against every implementation (MQTT.js `abstractStore` style): each test gets a fresh,
 * empty outbox from `create`.
 */
export function outboxSuite(name: string, create: () => Outbox): void {
  describe(`${name}: the Outbox contract`, () => {
    it('numbers messages from 1 in the order appended and keeps what was given', () => {
      const outbox = create();
      const first = outbox.append(message(1));
      const second = outbox.append({ topic: 'state', payload: '{}', qos: 0, retain: true });
      expect(first).toEqual({ n: 1, ...message(1) });
      expect(second).toEqual({ n: 2, topic: 'state', payload: '{}', qos: 0, retain: true });
    });

    it('holds every unacknowledged message, oldest first', () => {
      const outbox = create();
      expect(outbox.unacknowledged()).toEqual([]);
      expect(outbox.depth).toBe(0);
      for (let i = 1; i <= 3; i++) outbox.append(message(i));
      expect(outbox.unacknowledged().map((e) => e.topic)).toEqual(['t/1', 't/2', 't/3']);
      expect(outbox.depth).toBe(3);
    });

    it('forgets a message once it and everything before it are acknowledged', () => {
      const outbox = create();
      for (let i = 1; i <= 3; i++) outbox.append(message(i));
      outbox.acknowledge(1);
      expect(outbox.unacknowledged().map((e) => e.n)).toEqual([2, 3]);
      outbox.acknowledge(2);
      outbox.acknowledge(3);
      expect(outbox.unacknowledged()).toEqual([]);
      expect(outbox.depth).toBe(0);
    });

    it('an out-of-order acknowledgement takes effect once the gap before it is acknowledged', () => {
      const outbox = create();
      for (let i = 1; i <= 4; i++) outbox.append(message(i));
      outbox.acknowledge(3);
      outbox.acknowledge(2);
      expect(outbox.unacknowledged().map((e) => e.n)).toEqual([1, 2, 3, 4]);
      outbox.acknowledge(1);
      expect(outbox.unacknowledged().map((e) => e.n)).toEqual([4]);
      expect(outbox.depth).toBe(1);
    });

    it('ignores an acknowledgement for a number it does not hold, or one given twice', () => {
      const outbox = create();
      for (let i = 1; i <= 2; i++) outbox.append(message(i));
      outbox.acknowledge(7);
      outbox.acknowledge(0);
      outbox.acknowledge(1);
      outbox.acknowledge(1);
      expect(outbox.unacknowledged().map((e) => e.n)).toEqual([2]);
    });

    it('keeps numbering after everything was acknowledged', () => {
      const outbox = create();
      for (let i = 1; i <= 2; i++) outbox.append(message(i));
      outbox.acknowledge(1);
      outbox.acknowledge(2);
      expect(outbox.append(message(3)).n).toBe(3);
      expect(outbox.unacknowledged().map((e) => e.topic)).toEqual(['t/3']);
    });
  });
}
