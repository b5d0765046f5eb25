import { listProfileNames, loadProfile } from '../../config/load-profile.js';
import { DEFAULT_PROFILE } from '../../config/paths.js';
import { writeLine } from '../io.js';
import { defineCommand } from '../spec.js';

export const command = defineCommand('profiles', {
  summary: 'list the bundled device profiles',
  synopsis: '[--json]',
  options: { json: { type: 'boolean', help: 'print the profiles as one JSON array' } },
  async run({ values }, io) {
    let failures = 0;
    const rows = [];
    for (const name of await listProfileNames()) {
      const loaded = await loadProfile(name);
      if (!loaded.ok) {
        failures++;
        for (const error of loaded.errors) writeLine(io.stderr, error);
        continue;
      }
      const { profile } = loaded.value;
      rows.push({ name, default: name === DEFAULT_PROFILE, ...profile });
      if (!values.json) {
        const power =
          profile.power.source === 'battery' ? `battery ${profile.power.capacityMah} mAh` : 'wired';
        writeLine(
          io.stdout,
          `${name.padEnd(16)} ${profile.manufacturer} ${profile.model}, fw ${profile.firmwareVersion}, ` +
            `${profile.resolution.width}x${profile.resolution.height}@${profile.fps}, ${power}, ` +
            `retention ${profile.retentionDays} d${name === DEFAULT_PROFILE ? '  (default)' : ''}`,
        );
      }
    }
    if (values.json) writeLine(io.stdout, JSON.stringify(rows, null, 2));
    return failures ? 2 : 0;
  },
});
