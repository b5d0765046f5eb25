import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listProfileNames, loadProfile } from '../../src/config/load-profile.js';
import { REPO_ROOT, runCli, tempDir } from '../helpers/mqtt.js';

describe('device profiles', () => {
  it('every bundled profile is valid, with 60-day retention', async () => {
    const names = await listProfileNames();
    expect(names).toEqual(expect.arrayContaining(['wired-1080p', 'battery-720p', 'peephole-4x3', 'privacy']));
    for (const name of names) {
      const loaded = await loadProfile(name);
      expect(loaded.ok, JSON.stringify(loaded)).toBe(true);
      if (loaded.ok) expect(loaded.value.profile.retentionDays).toBe(60);
    }
  });

  it('a broken profile gives one line per problem naming the field and value', async () => {
    const dir = tempDir();
    const path = join(dir, 'broken.json');
    writeFileSync(
      path,
      JSON.stringify({
        model: 'X',
        manufacturer: 'Y',
        firmwareVersion: 'v1',
        resolution: { width: 99999, height: 720 },
        fps: 30,
        power: { source: 'solar' },
        retentionDays: -5,
        extra: true,
      }),
    );
    const loaded = await loadProfile(path);
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const text = loaded.errors.join('\n');
    expect(text).toContain('firmwareVersion');
    expect(text).toContain('"v1"');
    expect(text).toContain('resolution.width');
    expect(text).toContain('99999');
    expect(text).toContain('power.source');
    expect(text).toContain('retentionDays');
    expect(text).toContain('extra');
  });

  it('unknown names list the known profiles; a non-JSON file says so', async () => {
    const unknown = await loadProfile('nope');
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.errors[0]).toContain('wired-1080p');
    const path = join(tempDir(), 'bad.json');
    writeFileSync(path, '{ not json');
    const bad = await loadProfile(path);
    expect(!bad.ok && bad.errors[0]).toContain('not valid JSON');
  });
});

describe('CLI boundaries', () => {
  it('start with a broken profile prints the problems and exits 2 without a stack trace', () => {
    const path = join(tempDir(), 'broken.json');
    writeFileSync(path, JSON.stringify({ model: 'X' }));
    const result = runCli(['start', '--profile', path, '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('manufacturer');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('an invalid device id is refused at the door', () => {
    const result = runCli(['press', '--id', 'Front Door!']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('not a valid device id');
  });

  it('schema profile prints a JSON Schema with the profile fields', () => {
    const result = runCli(['schema', 'profile']);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout);
    expect(schema.properties.retentionDays.default).toBe(60);
    expect(schema.required).toEqual(expect.arrayContaining(['model', 'firmwareVersion', 'power']));
  });

  it('unknown commands and options exit 2 with one line', () => {
    expect(runCli(['fly']).code).toBe(2);
    const bad = runCli(['start', '--colour', 'red']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('committed generated files', () => {
  it('docs/schema/profile.schema.json is what `doorbell schema profile` prints now', () => {
    const result = runCli(['schema', 'profile']);
    const committed = readFileSync(join(REPO_ROOT, 'docs/schema/profile.schema.json'), 'utf8');
    expect(committed, 'regenerate: npx doorbell schema profile > docs/schema/profile.schema.json').toBe(
      result.stdout,
    );
  });
});
