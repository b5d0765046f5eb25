import { readFileSync } from 'node:fs';
import { describeIssues } from '../config/issues.js';
import { type DeviceProfile, DeviceProfileSchema } from '../config/profile.js';
import { CommandError } from '../mqtt/requests.js';
import { removeStaleTempsSync, writeFileAtomicSync } from '../persist/durable-write.js';

/** A partial profile update merged over the current one: objects merge key by key, everything else replaces. */
export function mergePatch(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    out[key] = mergePatch(base[key], value);
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Keys a running device cannot change: they describe the hardware or the topics it is known by. */
const FIXED_KEYS = [
  'model',
  'manufacturer',
  'firmwareVersion',
  'resolution',
  'fps',
  'power',
  'topicPrefix',
] as const;

/**
 * The device's effective profile: the bundled one plus the owner's changes (`config-set`), which are
 * persisted next to the device state and applied again after a restart (kept in memory when no path is given:
 * a fleet device without a data folder).
 */
export class ProfileStore {
  private overrides: Record<string, unknown>;
  private effective: DeviceProfile;

  constructor(
    private readonly base: DeviceProfile,
    private readonly overridesPath: string | undefined,
  ) {
    if (overridesPath !== undefined) removeStaleTempsSync(overridesPath);
    this.overrides = overridesPath === undefined ? {} : readOverrides(overridesPath);
    const merged = DeviceProfileSchema.safeParse(mergePatch(base, this.overrides));
    // Overrides that no longer fit (a profile changed underneath them) are dropped rather than blocking boot.
    if (!merged.success) this.overrides = {};
    this.effective = merged.success ? merged.data : base;
  }

  get profile(): DeviceProfile {
    return this.effective;
  }

  /** Validates and persists a patch; throws a CommandError naming the field and value on a bad patch. */
  apply(patch: Record<string, unknown>): DeviceProfile {
    for (const key of FIXED_KEYS) {
      if (key in patch) throw new CommandError('read-only', `${key} cannot be changed on a running device`);
    }
    const overrides = mergePatch(this.overrides, patch) as Record<string, unknown>;
    const candidate = mergePatch(this.base, overrides);
    const result = DeviceProfileSchema.safeParse(candidate);
    if (!result.success) {
      throw new CommandError('invalid-config', describeIssues(result.error, candidate, 'config').join('; '));
    }
    if (this.overridesPath !== undefined) {
      writeFileAtomicSync(this.overridesPath, `${JSON.stringify(overrides, null, 2)}\n`);
    }
    this.overrides = overrides;
    this.effective = result.data;
    return result.data;
  }
}

function readOverrides(path: string): Record<string, unknown> {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    return isPlainObject(value) ? value : {};
  } catch {
    return {};
  }
}
