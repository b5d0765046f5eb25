import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DurableOutbox, MemoryOutbox } from '../../src/mqtt/outbox.js';
import { PersistentCounter } from '../../src/persist/counter.js';
import { tempDir } from '../helpers/mqtt.js';
import { outboxSuite } from './outbox-suite.js';

const message = (i: number) => ({ topic: `t/${i}`, payload: `p${i}`, qos: 1 as const, retain: false });

outboxSuite('MemoryOutbox', () => new MemoryOutbox());
outboxSuite('DurableOutbox', () => new DurableOutbox(tempDir()));

describe('DurableOutbox', () => {
  it('gives back a seq taken for an event a kill -9 kept out of the outbox', () => {
    const dir = tempDir();
    const seq = new PersistentCounter(join(dir, 'seq'));
    const outbox = new DurableOutbox(join(dir, 'outbox'));
    for (let i = 0; i < 3; i++) {
      const n = seq.next();
      outbox.append({
        topic: 'doorbell/d/events/ding',
        payload: JSON.stringify({ seq: n }),
        qos: 1,
        retain: false,
      });
    }
    outbox.append({ topic: 'doorbell/d/state', payload: '{"v":1}', qos: 1, retain: true });
    seq.next(); // taken, then the process died before its event was appended
    seq.close();

    const restarted = new PersistentCounter(join(dir, 'seq'));
    const reopened = new DurableOutbox(join(dir, 'outbox'));
    expect(reopened.lastEventSeq).toBe(3);
    restarted.giveBackAfter(reopened.lastEventSeq!);
    expect(restarted.next()).toBe(4);
    restarted.close();
  });

  it('knows which clips a previous run announced (stored or lost)', () => {
    const dir = tempDir();
    const outbox = new DurableOutbox(dir);
    const clip = (clipId: string, seq: number) => ({
      topic: 'doorbell/d/events/clip',
      payload: JSON.stringify({ seq, clipId, status: 'lost' }),
      qos: 1 as const,
      retain: false,
    });
    outbox.acknowledge(outbox.append(clip('d-000001', 2)).n);
    const reopened = new DurableOutbox(dir);
    expect(reopened.announcedBeforeRestart('d-000001')).toBe(true);
    expect(reopened.announcedBeforeRestart('d-000003')).toBe(false);
  });

  it('a kill -9 before the very first event reached the outbox gives its seq back', () => {
    const dir = tempDir();
    const seq = new PersistentCounter(join(dir, 'seq'));
    seq.next();
    seq.close();
    const outbox = new DurableOutbox(join(dir, 'outbox'));
    expect(outbox.lastEventSeq).toBe(0);
    const restarted = new PersistentCounter(join(dir, 'seq'));
    restarted.giveBackAfter(outbox.lastEventSeq!);
    expect(restarted.next()).toBe(1);
    restarted.close();
  });

  it('compaction keeps the last event, so a restart still knows the last seq that reached the outbox', async () => {
    const dir = tempDir();
    const outbox = new DurableOutbox(dir);
    const padding = 'x'.repeat(64 * 1024);
    for (let seq = 1; seq <= 20; seq++) {
      const entry = outbox.append({
        topic: 'doorbell/d/events/ding',
        payload: JSON.stringify({ seq, padding }),
        qos: 1,
        retain: false,
      });
      outbox.acknowledge(entry.n);
    }
    outbox.append({ topic: 'doorbell/d/state', payload: '{"v":1}', qos: 1, retain: true });
    outbox.acknowledge(21);
    outbox.persistWatermark();
    expect(readFileSync(join(dir, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(1);
    const reopened = new DurableOutbox(dir);
    expect(reopened.lastEventSeq).toBe(20);
    expect([...reopened.unacknowledged()]).toEqual([]);
  });

  it('keeps unacknowledged messages across a restart, in order', async () => {
    const dir = tempDir();
    const first = new DurableOutbox(dir);
    for (let i = 1; i <= 5; i++) first.append(message(i));
    first.acknowledge(1);
    first.acknowledge(2);
    // The watermark is written once per burst of acks, on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    const reopened = new DurableOutbox(dir);
    expect(reopened.unacknowledged().map((e) => e.topic)).toEqual(['t/3', 't/4', 't/5']);
    // An ack whose watermark was never written (a crash right after it) is only a resend, never a loss.
    reopened.acknowledge(3);
    expect(new DurableOutbox(dir).unacknowledged().map((e) => e.topic)).toEqual(['t/3', 't/4', 't/5']);
    expect(reopened.append(message(6)).n).toBe(6);
  });

  it('an out-of-order ack only moves the watermark once the gap is filled', () => {
    const dir = tempDir();
    const outbox = new DurableOutbox(dir);
    for (let i = 1; i <= 3; i++) outbox.append(message(i));
    outbox.acknowledge(2);
    outbox.persistWatermark();
    expect(new DurableOutbox(dir).unacknowledged().map((e) => e.n)).toEqual([1, 2, 3]);
    outbox.acknowledge(1);
    outbox.persistWatermark();
    expect(new DurableOutbox(dir).unacknowledged().map((e) => e.n)).toEqual([3]);
    expect(outbox.depth).toBe(1);
  });

  it('skips a torn last line from a crash mid-append and keeps appending cleanly', () => {
    const dir = tempDir();
    const outbox = new DurableOutbox(dir);
    outbox.append(message(1));
    appendFileSync(join(dir, 'outbox.jsonl'), '{"n":2,"topic":"t/2","payl');
    const reopened = new DurableOutbox(dir);
    expect(reopened.unacknowledged().map((e) => e.n)).toEqual([1]);
    reopened.append(message(3));
    expect(new DurableOutbox(dir).unacknowledged().map((e) => e.topic)).toEqual(['t/1', 't/3']);
    expect(readFileSync(join(dir, 'outbox.jsonl'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
  });
});
