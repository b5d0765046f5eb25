import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/mqtt.js';

/** Debian's Chromium (CI installs it with apt); CHROMIUM_PATH points elsewhere on other machines. */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'ui');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The suite's name, saying why it skips when Chromium is absent (and a warning in the log). */
export function chromiumSuite(name: string): string {
  if (HAS_CHROMIUM) return name;
  console.warn(`${name}: skipped, ${CHROMIUM} is not installed (apt-get install -y chromium)`);
  return `${name} — SKIPPED: ${CHROMIUM} is not installed (apt-get install -y chromium)`;
}
