import { describe, expect, it } from 'vitest';
import { Emitter } from '../../src/util/emitter.js';

describe('Emitter', () => {
  it('calls every listener, in the order added, with the arguments emitted', () => {
    const emitter = new Emitter<[string, number]>(() => {});
    const calls: string[] = [];
    emitter.on((name, n) => calls.push(`first ${name} ${n}`));
    emitter.on((name, n) => calls.push(`second ${name} ${n}`));
    emitter.emit('frame', 7);
    expect(calls).toEqual(['first frame 7', 'second frame 7']);
  });

  it('a listener that throws is reported and skipped; the others still run', () => {
    const reported: Array<[unknown, string]> = [];
    const emitter = new Emitter<[string]>((error, value) => reported.push([error, value]));
    const seen: string[] = [];
    const boom = new Error('viewer gone');
    emitter.on(() => {
      throw boom;
    });
    emitter.on((value) => seen.push(value));
    expect(() => emitter.emit('ding')).not.toThrow();
    expect(seen).toEqual(['ding']);
    expect(reported).toEqual([[boom, 'ding']]);
  });

  it('stops calling a listener once removed; removing twice is harmless', () => {
    const emitter = new Emitter<[number]>(() => {});
    const seen: number[] = [];
    const off = emitter.on((n) => seen.push(n));
    emitter.emit(1);
    off();
    off();
    emitter.emit(2);
    expect(seen).toEqual([1]);
    expect(emitter.size).toBe(0);
  });

  it('a listener may remove itself while the emitter runs it', () => {
    const emitter = new Emitter<[number]>(() => {});
    const seen: string[] = [];
    const off = emitter.on((n) => {
      seen.push(`once ${n}`);
      off();
    });
    emitter.on((n) => seen.push(`always ${n}`));
    emitter.emit(1);
    emitter.emit(2);
    expect(seen).toEqual(['once 1', 'always 1', 'always 2']);
  });
});
