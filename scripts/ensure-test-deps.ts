/**
 * `npm test` runs this first (pretest). Some integration tests talk to a real mosquitto (a second broker, MQTT 5
 * clients), promtool (checks /metrics), a real Chromium (the web console) and GStreamer (an RTSP player no one here wrote), and render Home
 * Assistant templates with Python's Jinja2; without them those tests are skipped. As root on a machine with
 * apt, this installs what is missing, so a fresh machine runs every test with no step by hand; anywhere else it
 * prints the one line that would install them and lets the tests run (skipping those). DOORBELL_TEST_INSTALL=0 turns
 * the install off. ffmpeg needs nothing: the bundled build comes with npm ci.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findOnPath } from '../src/video/locate.js';
import { pythonWithJinja } from './lib/jinja-python.js';

const onPath = (command: string) => findOnPath(command) !== undefined;
/** A GStreamer element is installed (the live-stream tests play RTSP with rtspsrc ! rtph264depay ! avdec_h264). */
const gstElement = (element: string) =>
  onPath('gst-inspect-1.0') && spawnSync('gst-inspect-1.0', [element], { stdio: 'ignore' }).status === 0;

/** Debian package → is it installed. */
const needs: Array<{ pkg: string; present: () => boolean }> = [
  { pkg: 'mosquitto', present: () => onPath('mosquitto') || existsSync('/usr/sbin/mosquitto') },
  { pkg: 'mosquitto-clients', present: () => onPath('mosquitto_sub') && onPath('mosquitto_rr') },
  { pkg: 'chromium', present: () => existsSync(process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium') },
  { pkg: 'gstreamer1.0-tools', present: () => onPath('gst-launch-1.0') },
  { pkg: 'gstreamer1.0-plugins-good', present: () => gstElement('rtspsrc') },
  { pkg: 'gstreamer1.0-plugins-bad', present: () => gstElement('h264parse') },
  { pkg: 'gstreamer1.0-libav', present: () => gstElement('avdec_h264') },
  // promtool (Prometheus' own parser and linter) checks what /metrics serves (test/metrics/).
  { pkg: 'prometheus', present: () => onPath('promtool') },
  // Renders the Home Assistant value templates as HA does (test/mqtt/discovery-templates.test.ts).
  {
    pkg: 'python3-jinja2',
    present: () => pythonWithJinja() !== undefined,
  },
];

function missing(): string[] {
  return needs.filter((need) => !need.present()).map((need) => need.pkg);
}

function apt(args: string[]): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  return spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env }).status === 0;
}

const wanted = missing();
if (wanted.length > 0) {
  const line = `apt-get install -y --no-install-recommends ${wanted.join(' ')}`;
  const canInstall =
    process.getuid?.() === 0 && onPath('apt-get') && process.env['DOORBELL_TEST_INSTALL'] !== '0';
  if (canInstall) {
    console.error(`npm test: installing ${wanted.join(' ')} (apt)`);
    if (!(apt(['update', '-qq']) && apt(['install', '-y', '-qq', '--no-install-recommends', ...wanted]))) {
      console.error('npm test: apt-get failed; the tests that need these packages will be skipped');
    }
  }
  const still = missing();
  if (still.length > 0) {
    const how = onPath('apt-get')
      ? `run  sudo apt-get update && sudo ${line}`
      : 'install them with your package manager';
    console.error(
      `npm test: ${still.join(', ')} not installed, so their tests will be skipped; to run them, ${how}`,
    );
  }
}
