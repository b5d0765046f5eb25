import { readdir, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { analyzeVideo } from '../../analysis/analyze-video.js';
import { type ReferenceFile, readReferenceFile, referenceAt } from '../../evaluation/reference-file.js';
import { reportTable } from '../../evaluation/report-table.js';
import { type AnalysedFrame, evaluate, eventIntervals } from '../../evaluation/score.js';
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
  summary:
    'detect motion in a video file as fast as it decodes; one line (or JSON object) per event; --truth scores them',
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
    json: {
      type: 'boolean',
      help:
        'one JSON object per event: {type, ptsMs, score, box, zones}; with --truth one JSON report ' +
        '(fields in docs/motion.md; "v": 1, fields only added within it)',
    },
    truth: {
      type: 'string',
      value: 'TRUTH.json|REF.csv',
      help:
        'instead of the events, print how they agree with a reference: a fixture ground truth (its expected ' +
        'events at this sensitivity; its own settings apply unless --zones is given), a MOG2 CSV ' +
        '(frame,t_s,…,fg_frac_open3) or a Motion CSV (src_frame,…,flag_thr<N>)',
    },
    'debug-dir': {
      type: 'string',
      value: 'DIR',
      help: 'write a heat-map PNG of every frame with motion into DIR',
    },
  },
  notes:
    'With --truth: per reference interval, the detected event overlapping it most and its start and end error\n' +
    '(detected − reference, in frames and ms); missed intervals; false events (overlapping no interval); and\n' +
    'per-frame precision, recall and F1 of two flags: "inside a detected event\'s [start, end)" and the raw\n' +
    'per-frame motion flag. A CSV reference becomes intervals as the detector makes events: runs of motion frames\n' +
    'merged when the still stretch between them is shorter than eventGapMs. MOG2 CSV: a frame has motion when\n' +
    'fg_frac_open3 > 0.005; frames with t_s < 1.0 (MOG2 still learning) are not scored. Motion CSV: frames not\n' +
    "listed are still. The reference must describe this video: a ground truth's frameCount within 1 frame of the\n" +
    'decoded count and its fps within 1 % of the measured one; a CSV with no rows more than 1 frame past the last\n' +
    'decoded frame. Reference intervals past the decoded frames count as missed.\n\n' +
    'Exit codes: 0 analysed or evaluated (with or without motion, however well it agrees), 2 bad arguments,\n' +
    'settings, reference file or video, a reference made for another video, or a truncated video (the events\n' +
    'found in the part that decodes are printed, then what is missing).',
  async run({ values, positionals }, io) {
    if (positionals.length !== 1)
      throw new UserError('expected exactly one video FILE (see doorbell motion --help)');
    const file = resolve(io.cwd, positionals[0]!);
    const truthName = values.truth;
    const truthFile = truthName ? await readReferenceFile(resolve(io.cwd, truthName), truthName) : undefined;
    const truthSettings = truthName && !values.zones ? fixtureSettingsOf(truthFile, truthName) : undefined;
    const settings = await settingsFrom(values, io, truthSettings);
    const debugDir = values['debug-dir'] ? resolve(io.cwd, values['debug-dir']) : undefined;
    const reference =
      truthFile && truthName ? referenceAt(truthFile, settings.sensitivity, truthName) : undefined;
    const analysed: AnalysedFrame[] = [];
    const detected: MotionEvent[] = [];

    const started = performance.now();
    let frames = 0;
    let lastPts = 0;
    let events = 0;
    for await (const event of analyzeVideo(file, settings, {
      debugDir,
      onFrame: (frame, detector) => {
        frames++;
        lastPts = frame.ptsMs;
        if (reference) analysed.push({ ptsMs: frame.ptsMs, motion: detector.last.motion });
      },
    })) {
      events++;
      if (reference) detected.push(event);
      else writeLine(io.stdout, values.json ? JSON.stringify(jsonEvent(event)) : readableEvent(event));
    }
    // What the header promises, to tell a truncated file from a short one.
    const expectedFrames = (await probe(file)).frameCount;
    if (expectedFrames !== undefined && frames < expectedFrames - 1) {
      throw new UserError(
        `${positionals[0]}: truncated or damaged: ${frames} of the ${expectedFrames} frames its header promises ` +
          `decoded (${(lastPts / 1000).toFixed(2)} s of video); the analysis above covers only those`,
      );
    }
    if (reference && truthName) {
      const report = evaluate({
        frames: analysed,
        events: eventIntervals(detected),
        reference,
        eventGapMs: settings.eventGapMs,
      });
      if (truthSettings) report.notes.unshift(truthSettings.note);
      const context = { referenceFile: truthName, about: reference.about, sensitivity: settings.sensitivity };
      writeLine(
        io.stdout,
        values.json
          ? JSON.stringify({ v: EVALUATION_JSON_VERSION, video: positionals[0], ...context, ...report })
          : reportTable(report, context),
      );
    } else if (!values.json) {
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

/** The shape of the --truth --json object; fields are only ever added within a version. */
const EVALUATION_JSON_VERSION = 1;

/** A fixture's own motion settings (its masks, zones…), what the ground truth was made with. */
interface FixtureSettings {
  block: Record<string, unknown>;
  source: string;
  note: string;
}

function fixtureSettingsOf(file: ReferenceFile | undefined, name: string): FixtureSettings | undefined {
  if (file?.format !== 'ground-truth') return undefined;
  const block = motionBlockOf({ settings: file.settings }) ?? {};
  const keys = Object.keys(block);
  if (keys.length === 0) return undefined;
  return {
    block,
    source: `${name}: settings`,
    note: `applied the motion settings in ${name} (${keys.join(', ')}); --zones FILE replaces them`,
  };
}

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
  fixtureSettings?: FixtureSettings,
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
  if (fixtureSettings) {
    block = { ...block, ...fixtureSettings.block };
    source = fixtureSettings.source;
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
