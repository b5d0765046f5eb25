import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root, whether running from src/ (tsx) or dist/ (built). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PROFILES_DIR = resolve(PACKAGE_ROOT, 'device-profiles');
export const FIXTURES_DIR = resolve(PACKAGE_ROOT, 'fixtures');
export const DEFAULT_PROFILE = 'wired-1080p';
