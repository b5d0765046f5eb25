import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { analyzeVideo } from '../../analysis/analyze-video.js';
import type { MotionEvent } from '../../motion/detector.js';
import {
  type MotionSettings,
  motionBlockOf,
  parseMotionSettings,
  SENSITIVITIES,
  type Sensitivity,
} from '../../motion/settings.js';
import { probe } from '../../video/ffmpeg/probe.js';
import { type CliIo, UserError, writeLine } from '../io.js';
import { profileFrom } from '../options.js';
import { defineCommand } from '../spec.js';

export const command = defineCommand('motion', {
  summary: 'detect motion in a video file as fast as it decodes; one line (or JSON object) per event',
  synopsis: 'FILE [options]',
  positionals: true,
  options: {
    profile: {
      type: 'string',
      value: 'NAME|PATH',
      help: 'take the motion block (sensitivity, zones, masks…) of a device profile',
    },
    zones: {
      type: 'string',
      value: 'FILE',
      help:
        'JSON with a motion block: {zones, masks, …}, or an object holding one under "motion" or "settings" ' +
        '(a fixture ground-truth file works); applied over the profile',
    },
    sensitivity: { type: 'string', value: 'low|medium|high', help: 'overrides both' },
    json: { type: 'boolean', help: 'one JSON object per event: {type, ptsMs, score, box, zones}' },
    'debug-dir': {
      type: 'string',
      value: 'DIR',
      help: 'write a heat-map PNG of every frame with motion into DIR',
    },
  },
  notes:
    'Exit codes: 0 analysed (with or without motion), 2 bad arguments, settings or video (also a truncated\n' +
    'video: the events found in the part that decodes are printed, then what is missing).',
  async run({ values, positionals }, io) {
    if (positionals.length !== 1)
      throw new UserError('expected exactly one video FILE (see doorbell motion --help)');
    const file = resolve(io.cwd, positionals[0]!);
    const settings = await settingsFrom(values, io);
    const debugDir = values['debug-dir'] ? resolve(io.cwd, values['debug-dir']) : undefined;

    const started = performance.now();
    let frames = 0;
    let lastPts = 0;
    let events = 0;
    for await (const event of analyzeVideo(file, settings, {
      debugDir,
      onFrame: (frame) => {
        frames++;
        lastPts = frame.ptsMs;
      },
    })) {
      events++;
      writeLine(io.stdout, values.json ? JSON.stringify(jsonEvent(event)) : readableEvent(event));
    }
    // What the header promises, to tell a truncated file from a short one.
    const expectedFrames = (await probe(file)).frameCount;
    if (expectedFrames !== undefined && frames < expectedFrames - 1) {
      throw new UserError(
        `${positionals[0]}: truncated or damaged: ${frames} of the ${expectedFrames} frames its header promises ` +
          `decoded (${(lastPts / 1000).toFixed(2)} s of video); the analysis above covers only those`,
      );
    }
    if (!values.json) {
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      writeLine(
        io.stdout,
        `${events} event${events === 1 ? '' : 's'}; ${frames} frames (${(lastPts / 1000).toFixed(2)} s of video) ` +
          `analysed in ${seconds} s at ${settings.sensitivity} sensitivity`,
      );
    }
    if (debugDir) {
      const written = (await readdir(debugDir).catch(() => [] as string[])).filter((f) => f.endsWith('.png'));
      writeLine(io.stderr, `heat maps: ${written.length} PNG files in ${debugDir}`);
    }
    return 0;
  },
});

function jsonEvent(event: MotionEvent): MotionEvent {
  return { type: event.type, ptsMs: event.ptsMs, score: event.score, box: event.box, zones: event.zones };
}

function readableEvent(event: MotionEvent): string {
  const { x, y, w, h } = event.box;
  const box = `box x=${x.toFixed(2)} y=${y.toFixed(2)} w=${w.toFixed(2)} h=${h.toFixed(2)}`;
  return (
    `${event.type.padEnd(6)} ${(event.ptsMs / 1000).toFixed(3).padStart(9)} s  score ${event.score.toFixed(2)}  ` +
    `${box}  zones ${event.zones.join(',') || '-'}`
  );
}

async function settingsFrom(
  values: { profile?: string | undefined; zones?: string | undefined; sensitivity?: string | undefined },
  io: CliIo,
): Promise<MotionSettings> {
  let block: Record<string, unknown> = {};
  let source = 'motion settings';
  if (values.profile) {
    const loaded = await profileFrom(values.profile, io);
    const { enabled: _enabled, ...motion } = loaded.profile.motion as Record<string, unknown>;
    block = motion;
    source = `${loaded.path}: motion`;
  }
  if (values.zones) {
    const path = resolve(io.cwd, values.zones);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code ? String(code) : 'not valid JSON';
      throw new UserError(`--zones ${values.zones}: cannot read (${why})`);
    }
    const inner = motionBlockOf(parsed);
    if (!inner) throw new UserError(`--zones ${values.zones}: expected a JSON object with a motion block`);
    block = { ...block, ...inner };
    source = `--zones ${values.zones}`;
  }
  if (values.sensitivity !== undefined) {
    if (!(SENSITIVITIES as readonly string[]).includes(values.sensitivity)) {
      throw new UserError(
        `--sensitivity must be one of ${SENSITIVITIES.join(', ')}, got "${values.sensitivity}"`,
      );
    }
    block = { ...block, sensitivity: values.sensitivity as Sensitivity };
  }
  const result = parseMotionSettings(block, source);
  if (!result.ok) throw new UserError(result.error);
  return result.value;
}
