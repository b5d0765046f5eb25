import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PersistentCounter } from '../../src/persist/counter.js';
import { tempDir } from '../helpers/mqtt.js';

/** A counter in a fresh folder; reopen() is a restart: a new counter on the same file. */
function counterIn(dir = tempDir()) {
  const path = join(dir, 'state', 'seq');
  return { path, open: () => new PersistentCounter(path) };
}

describe('PersistentCounter', () => {
  it('starts at 0 and counts up by one', () => {
    const counter = counterIn().open();
    expect(counter.current()).toBe(0);
    expect([counter.next(), counter.next(), counter.next()]).toEqual([1, 2, 3]);
    expect(counter.current()).toBe(3);
    counter.close();
  });

  it('continues after a restart, even one without close() (a kill -9 right after next())', () => {
    const { open } = counterIn();
    const first = open();
    first.next();
    first.next();
    // No close: the value must already be on disk when next() returns.
    const second = open();
    expect(second.current()).toBe(2);
    expect(second.next()).toBe(3);
    second.close();
    first.close();
  });

  it('atLeast only ever moves forward', () => {
    const { open } = counterIn();
    const counter = open();
    counter.atLeast(10);
    expect(counter.current()).toBe(10);
    counter.atLeast(4);
    expect(counter.current()).toBe(10);
    counter.close();
    expect(open().current()).toBe(10);
  });

  it('giveBackAfter takes back numbers nobody used, and never moves forward', () => {
    const { open } = counterIn();
    const counter = open();
    for (let i = 0; i < 5; i++) counter.next();
    counter.giveBackAfter(3);
    expect(counter.current()).toBe(3);
    counter.giveBackAfter(9);
    expect(counter.current()).toBe(3);
    counter.close();
    const restarted = open();
    expect(restarted.next()).toBe(4);
    restarted.close();
  });
});
