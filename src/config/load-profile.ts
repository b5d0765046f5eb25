import { readdir, readFile } from 'node:fs/promises';
import { basename, isAbsolute, resolve } from 'node:path';
import { describeIssues } from './issues.js';
import { PROFILES_DIR } from './paths.js';
import { type DeviceProfile, DeviceProfileSchema } from './profile.js';

export type Loaded<T> = { ok: true; value: T; source: string } | { ok: false; errors: string[] };

export interface NamedProfile {
  name: string;
  path: string;
  profile: DeviceProfile;
}

const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Resolves `NAME` (a file in device-profiles/) or a path to a JSON file. */
export function resolveProfilePath(nameOrPath: string, profilesDir = PROFILES_DIR): string {
  if (PROFILE_NAME.test(nameOrPath)) return resolve(profilesDir, `${nameOrPath}.json`);
  return isAbsolute(nameOrPath) ? nameOrPath : resolve(nameOrPath);
}

export function parseProfile(input: unknown, source: string): Loaded<DeviceProfile> {
  const result = DeviceProfileSchema.safeParse(input);
  if (result.success) return { ok: true, value: result.data, source };
  return { ok: false, errors: describeIssues(result.error, input, source) };
}

export async function readJsonFile(path: string): Promise<Loaded<unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code);
    return { ok: false, errors: [`${path}: cannot read (${why})`] };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown, source: path };
  } catch (error) {
    return { ok: false, errors: [`${path}: not valid JSON (${(error as Error).message})`] };
  }
}

export async function loadProfile(
  nameOrPath: string,
  profilesDir = PROFILES_DIR,
): Promise<Loaded<NamedProfile>> {
  const path = resolveProfilePath(nameOrPath, profilesDir);
  const json = await readJsonFile(path);
  if (!json.ok) {
    if (PROFILE_NAME.test(nameOrPath)) {
      const known = await listProfileNames(profilesDir);
      return {
        ok: false,
        errors: [`unknown profile "${nameOrPath}" (known: ${known.join(', ') || 'none'})`],
      };
    }
    return json;
  }
  const parsed = parseProfile(json.value, path);
  if (!parsed.ok) return parsed;
  return { ok: true, source: path, value: { name: basename(path, '.json'), path, profile: parsed.value } };
}

export async function listProfileNames(profilesDir = PROFILES_DIR): Promise<string[]> {
  const files = await readdir(profilesDir).catch(() => [] as string[]);
  return files
    .filter((f) => f.endsWith('.json'))
    .map((f) => basename(f, '.json'))
    .sort();
}
