import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import { mergePatch, ProfileStore } from '../../src/device/profile-store.js';
import { baseProfile } from '../helpers/doorbell.js';
import { tempDir } from '../helpers/mqtt.js';

const bundled = DeviceProfileSchema.parse(baseProfile);

describe('mergePatch', () => {
  it('merges objects key by key and replaces everything else', () => {
    const base = { a: 1, nested: { keep: true, change: 'old' }, list: [1, 2, 3] };
    const patch = { nested: { change: 'new', added: 2 }, list: [9], b: 'x' };
    expect(mergePatch(base, patch)).toEqual({
      a: 1,
      nested: { keep: true, change: 'new', added: 2 },
      list: [9],
      b: 'x',
    });
    expect(base.nested.change).toBe('old');
  });

  it('a patch that is not an object replaces the value whole', () => {
    expect(mergePatch({ a: 1 }, 5)).toBe(5);
    expect(mergePatch({ a: 1 }, null)).toBeNull();
    expect(mergePatch(5, { a: 1 })).toEqual({ a: 1 });
  });

  it('ignores keys that would reach the prototype', () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1, "ok": 2}') as unknown;
    const merged = mergePatch({}, patch) as Record<string, unknown>;
    expect(merged).toEqual({ ok: 2 });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('ProfileStore', () => {
  it('starts as the bundled profile and applies a patch over it', () => {
    const store = new ProfileStore(bundled, undefined);
    expect(store.profile).toEqual(bundled);
    const next = store.apply({ motion: { sensitivity: 'high' } });
    expect(next.motion.sensitivity).toBe('high');
    expect(next.motion.enabled).toBe(bundled.motion.enabled);
    expect(store.profile).toEqual(next);
  });

  it('patches accumulate: a later patch keeps the earlier changes', () => {
    const store = new ProfileStore(bundled, undefined);
    store.apply({ motion: { sensitivity: 'low' } });
    const next = store.apply({ retentionDays: 7 });
    expect(next.motion.sensitivity).toBe('low');
    expect(next.retentionDays).toBe(7);
  });

  it('refuses the keys that describe the hardware, and changes nothing', () => {
    const store = new ProfileStore(bundled, undefined);
    expect(() => store.apply({ fps: 30 })).toThrow(expect.objectContaining({ code: 'read-only' }));
    expect(() => store.apply({ topicPrefix: 'elsewhere' })).toThrow(/topicPrefix cannot be changed/);
    expect(store.profile).toEqual(bundled);
  });

  it('refuses an invalid patch with the field named, and changes nothing', () => {
    const store = new ProfileStore(bundled, undefined);
    expect(() => store.apply({ retentionDays: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid-config', message: expect.stringContaining('retentionDays') }),
    );
    expect(store.profile).toEqual(bundled);
  });

  it('keeps the changes across a restart when given a path', () => {
    const path = join(tempDir(), 'profile.overrides.json');
    new ProfileStore(bundled, path).apply({ motion: { sensitivity: 'high' } });
    const restarted = new ProfileStore(bundled, path);
    expect(restarted.profile.motion.sensitivity).toBe('high');
  });

  it('a refused patch is not persisted either', () => {
    const path = join(tempDir(), 'profile.overrides.json');
    const store = new ProfileStore(bundled, path);
    store.apply({ retentionDays: 30 });
    expect(() => store.apply({ retentionDays: -1 })).toThrow();
    expect(new ProfileStore(bundled, path).profile.retentionDays).toBe(30);
  });

  it('boots on the bundled profile when the stored changes no longer fit it, or are not JSON', () => {
    const dir = tempDir();
    const unfit = join(dir, 'unfit.json');
    writeFileSync(unfit, JSON.stringify({ retentionDays: 'forever' }));
    expect(new ProfileStore(bundled, unfit).profile).toEqual(bundled);
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, '{"motion": ');
    expect(new ProfileStore(bundled, garbage).profile).toEqual(bundled);
  });
});
