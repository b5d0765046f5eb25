import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { describeIssues } from '../config/issues.js';
import { loadProfile, type NamedProfile, readJsonFile } from '../config/load-profile.js';
import { FIXTURES_DIR } from '../config/paths.js';
import { DeviceIdSchema, DeviceProfileSchema } from '../config/profile.js';
import { mergePatch } from '../device/profile-store.js';
import { MotionLabelSchema, PressSourceSchema } from '../events/schemas.js';
import { SENSITIVITIES } from '../motion/settings.js';

/** Where named scenarios and fixtures live. */
export const SCENARIOS_DIR = resolve(FIXTURES_DIR, 'scenarios');
export const VIDEO_FIXTURES_DIR = resolve(FIXTURES_DIR, 'video');

const Ms = z.int().min(0).max(3_600_000);
/** A fixture name from fixtures/video ("visitor-at-door") or a path to an MP4, relative to the scenario file. */
const VideoRef = z.string().min(1).max(512);

const At = { at: Ms.describe('virtual ms since the scenario started') };

export const ActionSchema = z.discriminatedUnion('do', [
  z.strictObject({ ...At, do: z.literal('press'), source: PressSourceSchema.default('scenario') }),
  z
    .strictObject({
      ...At,
      do: z.literal('play'),
      video: VideoRef,
      /** Keep playing it (looped) until the next play; default: once, then back to the scenario's video. */
      loop: z.boolean().default(false),
      labels: z
        .array(MotionLabelSchema)
        .min(1)
        .optional()
        .describe(
          "what moves in it: a motion that starts while it plays (or, unlabelled so far, goes on into it) carries these labels, in place of the fixture's ground truth",
        ),
    })
    .describe('switch the camera to a fixture'),
  z.strictObject({ ...At, do: z.literal('broker-outage'), until: Ms }),
  z.strictObject({ ...At, do: z.literal('bucket-outage'), until: Ms }),
  z.strictObject({ ...At, do: z.literal('reboot') }),
  z
    .strictObject({ ...At, do: z.literal('answer') })
    .describe('someone answers the door (request/answer): the waiting ring ends as answered'),
  z.strictObject({ ...At, do: z.literal('config'), patch: z.record(z.string(), z.unknown()) }),
  z.strictObject({ ...At, do: z.literal('sensitivity'), value: z.enum(SENSITIVITIES) }),
  z.strictObject({ ...At, do: z.literal('motion'), enabled: z.boolean() }),
]);

export type ScenarioAction = z.output<typeof ActionSchema>;

/** A count the replay must see: exactly n, or a range. */
const CountSchema = z.union([
  z.int().min(0),
  z
    .strictObject({ min: z.int().min(0).optional(), max: z.int().min(0).optional() })
    .refine((c) => c.min !== undefined || c.max !== undefined, 'give min, max or both'),
]);
export type ExpectedCount = z.output<typeof CountSchema>;

export const EXPECTATION_NAMES = [
  'ding',
  'ding.answered',
  'ding.missed',
  'sessions',
  'motion',
  'motion.start',
  'motion.update',
  'motion.end',
  'clip',
  'snapshot',
  'objects',
] as const;
export type ExpectationName = (typeof EXPECTATION_NAMES)[number];

const ExpectSchema = z
  .strictObject(
    Object.fromEntries(EXPECTATION_NAMES.map((name) => [name, CountSchema.optional()])) as Record<
      ExpectationName,
      z.ZodOptional<typeof CountSchema>
    >,
  )
  .describe('event counts by type ("motion" = motion starts); objects = bucket objects');

const ProfileRef = z.union([
  z.string().min(1).describe('a profile name from device-profiles/ or a path'),
  z.strictObject({
    base: z.string().min(1).default('wired-1080p'),
    /** Merged over the base profile, like `config-set`. */
    overrides: z.record(z.string(), z.unknown()).default({}),
  }),
]);

export const ScenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a scenario name is a-z, 0-9, "_" or "-"'),
    description: z.string().max(2000).optional(),
    device: z
      .strictObject({
        id: DeviceIdSchema.default('front-door'),
        profile: ProfileRef.default('wired-1080p'),
        bootMs: z.int().min(0).max(60_000).default(500),
      })
      .default({ id: 'front-door', profile: 'wired-1080p', bootMs: 500 }),
    /** The camera: a fixture played in a loop; null = no camera (no motion, no clips). */
    video: VideoRef.nullable(),
    /** Seeds radio noise and upload retry jitter. */
    seed: z.int().min(0).max(0xffffffff).default(1),
    /** Virtual wall-clock time at t = 0. */
    epoch: z.iso.datetime({ offset: false }).default('2026-01-01T12:00:00.000Z'),
    durationMs: z.int().min(1_000).max(3_600_000),
    timeline: z.array(ActionSchema).default([]),
    expect: ExpectSchema.default({}),
  })
  .superRefine((scenario, ctx) => {
    const open: Record<string, number> = {};
    scenario.timeline.forEach((action, i) => {
      if (action.at > scenario.durationMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeline', i, 'at'],
          message: `after the end of the scenario (durationMs ${scenario.durationMs})`,
        });
      }
      if (i > 0 && action.at < scenario.timeline[i - 1]!.at) {
        ctx.addIssue({
          code: 'custom',
          path: ['timeline', i, 'at'],
          message: 'actions must be in time order',
        });
      }
      if (action.do === 'broker-outage' || action.do === 'bucket-outage') {
        if (action.until <= action.at) {
          ctx.addIssue({ code: 'custom', path: ['timeline', i, 'until'], message: 'must be after "at"' });
        }
        if ((open[action.do] ?? -1) > action.at) {
          ctx.addIssue({
            code: 'custom',
            path: ['timeline', i, 'at'],
            message: `overlaps the previous ${action.do}`,
          });
        }
        open[action.do] = action.until;
      }
    });
  });

export type Scenario = z.output<typeof ScenarioSchema>;

/** A scenario with its profile loaded and every video resolved to an absolute path. */
export interface ResolvedScenario {
  scenario: Scenario;
  /** The scenario file (or "<inline>"). */
  source: string;
  profile: NamedProfile;
  /** Absolute path of the camera's video, or null. */
  video: string | null;
  /** Absolute path of each play action's video, by timeline index. */
  plays: Map<number, string>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; errors: string[] };

export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(ScenarioSchema, { io: 'input' });
}

/** A name from fixtures/scenarios ("visitor-rings") or a path to a scenario JSON file. */
export function resolveScenarioPath(nameOrPath: string, cwd = process.cwd()): string {
  if (/^[a-z0-9][a-z0-9_-]{0,63}$/.test(nameOrPath)) {
    const named = resolve(SCENARIOS_DIR, `${nameOrPath}.json`);
    if (existsSync(named) || !existsSync(resolve(cwd, nameOrPath))) return named;
  }
  return isAbsolute(nameOrPath) ? nameOrPath : resolve(cwd, nameOrPath);
}

export function listScenarioNames(): string[] {
  try {
    return readdirSync(SCENARIOS_DIR)
      .filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'))
      .map((f) => basename(f, '.json'))
      .sort();
  } catch {
    return [];
  }
}

export async function loadScenario(
  nameOrPath: string,
  cwd = process.cwd(),
): Promise<Parsed<ResolvedScenario>> {
  const path = resolveScenarioPath(nameOrPath, cwd);
  const json = await readJsonFile(path);
  if (!json.ok) {
    if (!existsSync(path) && /^[a-z0-9][a-z0-9_-]{0,63}$/.test(nameOrPath)) {
      return {
        ok: false,
        errors: [`unknown scenario "${nameOrPath}" (known: ${listScenarioNames().join(', ') || 'none'})`],
      };
    }
    return { ok: false, errors: json.errors };
  }
  return resolveScenario(json.value, path);
}

/** Validates a scenario and resolves its profile and videos. Every problem is one line naming the field and value. */
export async function resolveScenario(input: unknown, source: string): Promise<Parsed<ResolvedScenario>> {
  const parsed = ScenarioSchema.safeParse(input);
  if (!parsed.success) return { ok: false, errors: describeIssues(parsed.error, input, source) };
  const scenario = parsed.data;
  const errors: string[] = [];
  const baseDir = source === '<inline>' ? process.cwd() : dirname(source);

  const profile = await resolveProfile(scenario, source, errors);
  const video =
    scenario.video === null ? null : resolveVideo(scenario.video, baseDir, 'video', source, errors);
  const plays = new Map<number, string>();
  scenario.timeline.forEach((action, i) => {
    if (action.do !== 'play') return;
    const path = resolveVideo(action.video, baseDir, `timeline.${i}.video`, source, errors);
    if (path) plays.set(i, path);
    if (scenario.video === null) {
      errors.push(`${source}: timeline.${i}: "play" needs a camera, but video is null (got "play")`);
    }
  });
  if (errors.length > 0 || !profile) return { ok: false, errors };
  return { ok: true, value: { scenario, source, profile, video: video ?? null, plays } };
}

async function resolveProfile(
  scenario: Scenario,
  source: string,
  errors: string[],
): Promise<NamedProfile | undefined> {
  const ref = scenario.device.profile;
  const baseName = typeof ref === 'string' ? ref : ref.base;
  const field = typeof ref === 'string' ? 'device.profile' : 'device.profile.base';
  const loaded = await loadProfile(baseName);
  if (!loaded.ok) {
    for (const error of loaded.errors)
      errors.push(`${source}: ${field}: ${error} (got ${JSON.stringify(baseName)})`);
    return undefined;
  }
  let named = loaded.value;
  if (typeof ref !== 'string' && Object.keys(ref.overrides).length > 0) {
    const merged = mergePatch(named.profile, ref.overrides);
    const result = DeviceProfileSchema.safeParse(merged);
    if (!result.success) {
      for (const line of describeIssues(result.error, merged, source)) {
        errors.push(line.replace(`${source}: `, `${source}: device.profile.overrides.`));
      }
      return undefined;
    }
    named = { ...named, name: `${named.name}+overrides`, profile: result.data };
  }
  if (named.profile.privacy.encryption.enabled) {
    errors.push(
      `${source}: ${field}: clip encryption uses fresh random keys, so it cannot be replayed deterministically (got privacy.encryption.enabled true)`,
    );
    return undefined;
  }
  return named;
}

function resolveVideo(
  ref: string,
  baseDir: string,
  field: string,
  source: string,
  errors: string[],
): string | undefined {
  const named = /^[a-z0-9][a-z0-9_-]{0,63}$/.test(ref)
    ? resolve(VIDEO_FIXTURES_DIR, `${ref}.mp4`)
    : undefined;
  const path = named && existsSync(named) ? named : isAbsolute(ref) ? ref : resolve(baseDir, ref);
  if (existsSync(path)) return path;
  const known = listFixtureNames();
  errors.push(
    `${source}: ${field}: no such video fixture or file (got ${JSON.stringify(ref)}; fixtures: ${known.join(', ')})`,
  );
  return undefined;
}

export function listFixtureNames(): string[] {
  try {
    return readdirSync(VIDEO_FIXTURES_DIR)
      .filter((f) => f.endsWith('.mp4'))
      .map((f) => basename(f, '.mp4'))
      .sort();
  } catch {
    return [];
  }
}
