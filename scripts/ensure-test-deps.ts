/**
 * `npm test` runs this first (pretest): the integration tests talk to a real mosquitto (a second broker and its
 * MQTT 5 clients) and a real Chromium (the web console). As root it installs what is missing with apt; otherwise it
 * prints the one line to run and fails, rather than letting tests fail one by one. ffmpeg needs nothing: the
 * bundled build comes with npm ci.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

interface Need {
  /** Debian package. */
  pkg: string;
  present: () => boolean;
}

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

const needs: Need[] = [
  { pkg: 'mosquitto', present: () => onPath('mosquitto') || existsSync('/usr/sbin/mosquitto') },
  { pkg: 'mosquitto-clients', present: () => onPath('mosquitto_sub') && onPath('mosquitto_rr') },
  { pkg: 'chromium', present: () => existsSync(process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium') },
];

const missing = needs.filter((need) => !need.present()).map((need) => need.pkg);
if (missing.length > 0) {
  const command = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    console.error(`npm test needs ${missing.join(', ')}: run  sudo apt-get update && sudo ${command}`);
    process.exit(1);
  }
  console.error(`npm test: installing ${missing.join(' ')} (apt)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', '--no-install-recommends', ...missing]]) {
    const run = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (run.status !== 0) {
      console.error(`npm test: apt-get ${args[0]} failed (exit ${run.status}); install by hand: ${command}`);
      process.exit(1);
    }
  }
}
