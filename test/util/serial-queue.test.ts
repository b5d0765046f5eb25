import { describe, expect, it } from 'vitest';
import { SerialQueue } from '../../src/util/serial-queue.js';

/** A promise settled from outside, to hold a task at a known point. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('SerialQueue', () => {
  it('runs tasks one at a time, in the order given', async () => {
    const queue = new SerialQueue();
    const first = gate();
    const log: string[] = [];
    const a = queue.run(async () => {
      log.push('a starts');
      await first.opened;
      log.push('a ends');
      return 'a';
    });
    const b = queue.run(() => {
      log.push('b runs');
      return 'b';
    });
    await Promise.resolve();
    expect(log).toEqual(['a starts']);
    expect(queue.size).toBe(2);
    first.open();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(log).toEqual(['a starts', 'a ends', 'b runs']);
    expect(queue.size).toBe(0);
  });

  it('rejects only the task that failed; the next one still runs', async () => {
    const queue = new SerialQueue();
    const failed = queue.run(async () => {
      throw new Error('disk full');
    });
    const next = queue.run(async () => 'ran');
    await expect(failed).rejects.toThrow('disk full');
    await expect(next).resolves.toBe('ran');
  });

  it('idle() waits for every task given so far, failed ones included', async () => {
    const queue = new SerialQueue();
    const hold = gate();
    let done = false;
    void queue
      .run(() => hold.opened)
      .then(() => {
        done = true;
      });
    queue.run(() => Promise.reject(new Error('ignored'))).catch(() => undefined);
    const idle = queue.idle();
    hold.open();
    await idle;
    expect(done).toBe(true);
    expect(queue.size).toBe(0);
  });

  it('is idle at once when nothing was given', async () => {
    const queue = new SerialQueue();
    await expect(queue.idle()).resolves.toBeUndefined();
    expect(queue.size).toBe(0);
  });
});
