import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { iso } from '../events/envelope.js';
import type { PlannedClip } from './clip-planner.js';

/**
 * A clip's plan as journaled while it is open: enough to cut it again from the source after a crash (the feed
 * times and the looped source they index) and to announce it as lost when that is impossible (device times).
 */
export const RecordingIntentSchema = z.object({
  v: z.literal(1),
  clipId: z.string().min(1).max(128),
  trigger: z.enum(['ding', 'motion', 'manual']),
  /**
   * The seq of the event that opened the clip. The plan is journaled just before that event enters the outbox, so
   * a plan whose seq the outbox never reached belongs to a trigger no one ever saw: recovery drops it.
   */
  triggerSeq: z.number().int().positive().optional(),
  /**
   * The events that opened or extended the clip so far (PlannedClip.triggerEventIds), with their seq when known, so
   * that a clip cut again after a crash, or announced lost, still names them. Like triggerSeq, an event whose seq the
   * outbox never reached was never seen (and its id goes to the next event): recovery leaves it out. Absent in plans
   * journaled before this field existed.
   */
  triggerEvents: z
    .array(z.object({ id: z.string().min(1).max(128), seq: z.number().int().positive().optional() }))
    .optional(),
  /** The visit the clip belongs to (the sessionId of the event that opened it); absent in older plans. */
  sessionId: z.string().min(1).max(128).optional(),
  triggerFeedMs: z.number().nonnegative(),
  startFeedMs: z.number().nonnegative(),
  endFeedMs: z.number().nonnegative(),
  /** The feed's clock against the device's: device ms = feedZeroDeviceMs + feedMs × deviceMsPerFeedMs. */
  feedZeroDeviceMs: z.number(),
  deviceMsPerFeedMs: z.number().positive(),
  /** What the feed times index: a looped file (recoverable), or something that cannot be cut again. */
  source: z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('looped-file'),
      path: z.string(),
      bytes: z.number().int().nonnegative(),
      loopDurationMs: z.number().positive(),
    }),
    z.object({ kind: z.literal('unrecoverable'), why: z.string() }),
  ]),
});
export type RecordingIntent = z.infer<typeof RecordingIntentSchema>;
export type IntentSource = RecordingIntent['source'];

/** A journal file that could not be read: it is set aside, and its clip id (from the name) reported as lost. */
export interface UnreadableIntent {
  clipId: string;
  problem: string;
}

const SUFFIX = '.intent.json';

/**
 * One small file per open clip in `<dir>`, written (fsync'd) when the clip opens and each time its window grows, and
 * removed once the clip is spooled or announced lost. What is left at start is what a crash interrupted.
 */
export class IntentJournal {
  private dirMade = false;

  constructor(readonly dir: string) {}

  /**
   * Records the plan as it is now, synchronously, right after its trigger's event went into the outbox: the two
   * writes are microseconds apart, where an fsync here would leave milliseconds for a kill -9 to fall between them.
   * Like the outbox, it survives a process crash (the page cache does), not a power cut.
   */
  save(intent: RecordingIntent): void {
    if (!this.dirMade) {
      mkdirSync(this.dir, { recursive: true });
      this.dirMade = true;
    }
    const path = this.pathOf(intent.clipId);
    const temp = `${path}.tmp`;
    writeFileSync(temp, JSON.stringify(intent));
    renameSync(temp, path);
  }

  /** The clip has an outcome (spooled, or announced lost): forget its plan. */
  finish(clipId: string): void {
    rmSync(this.pathOf(clipId), { force: true });
  }

  /** Plans a previous run left open. */
  leftovers(): { intents: RecordingIntent[]; unreadable: UnreadableIntent[] } {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return { intents: [], unreadable: [] };
    }
    const intents: RecordingIntent[] = [];
    const unreadable: UnreadableIntent[] = [];
    for (const name of names.sort()) {
      if (name.endsWith(`${SUFFIX}.tmp`)) {
        // Killed between write and rename: a clip's first plan exists only here; a later one has its file already.
        const final = join(this.dir, name.slice(0, -'.tmp'.length));
        if (names.includes(basename(final))) rmSync(join(this.dir, name), { force: true });
        else renameSync(join(this.dir, name), final);
      }
    }
    for (const name of readdirSync(this.dir).sort()) {
      if (!name.endsWith(SUFFIX)) continue;
      const clipId = name.slice(0, -SUFFIX.length);
      try {
        intents.push(RecordingIntentSchema.parse(JSON.parse(readFileSync(join(this.dir, name), 'utf8'))));
      } catch (error) {
        unreadable.push({
          clipId,
          problem: `journal ${join(this.dir, name)} unreadable: ${(error as Error).message}`,
        });
      }
    }
    return { intents, unreadable };
  }

  private pathOf(clipId: string): string {
    return join(this.dir, `${clipId}${SUFFIX}`);
  }
}

/**
 * The intent for a plan; `feedToDevice` is the feed's mapping to device time at this moment. `triggerSeq` is the seq
 * of the event that opened the clip, `seqOf` that of each event the clip lists.
 */
export function intentOf(
  plan: PlannedClip,
  source: IntentSource,
  feedToDevice: (feedMs: number) => number,
  triggerSeq?: number,
  seqOf: (eventId: string) => number | undefined = () => undefined,
): RecordingIntent {
  const feedZeroDeviceMs = feedToDevice(0);
  return {
    v: 1,
    clipId: plan.clipId,
    trigger: plan.trigger,
    ...(triggerSeq === undefined ? {} : { triggerSeq }),
    triggerEvents: plan.triggerEventIds.map((id) => {
      const seq = seqOf(id) ?? (id === plan.clipId ? triggerSeq : undefined);
      return seq === undefined ? { id } : { id, seq };
    }),
    ...(plan.sessionId === undefined ? {} : { sessionId: plan.sessionId }),
    triggerFeedMs: plan.triggerFeedMs,
    startFeedMs: plan.startFeedMs,
    endFeedMs: plan.endFeedMs,
    feedZeroDeviceMs,
    deviceMsPerFeedMs: (feedToDevice(1000) - feedZeroDeviceMs) / 1000,
    source,
  };
}

/** Device time (ISO) of a feed time, by the intent's mapping. */
export function intentDeviceIso(intent: RecordingIntent, feedMs: number): string {
  return iso(intent.feedZeroDeviceMs + feedMs * intent.deviceMsPerFeedMs);
}

/**
 * The plan to cut again, capped at maxClipMs like the planner would. It lists the trigger events the outbox holds
 * (seq up to `lastPublishedSeq`, or of unknown seq).
 */
export function planOf(intent: RecordingIntent, maxClipMs: number, lastPublishedSeq = 0): PlannedClip {
  return {
    clipId: intent.clipId,
    trigger: intent.trigger,
    triggers: [intent.trigger],
    triggerEventIds: (intent.triggerEvents ?? [])
      .filter((event) => event.seq === undefined || event.seq <= lastPublishedSeq)
      .map((event) => event.id),
    ...(intent.sessionId === undefined ? {} : { sessionId: intent.sessionId }),
    triggerFeedMs: intent.triggerFeedMs,
    startFeedMs: intent.startFeedMs,
    endFeedMs: Math.min(intent.endFeedMs, intent.startFeedMs + maxClipMs),
  };
}

/** Leftover encodes of a killed run: every folder in the recorder's scratch dir. Returns how many went. */
export function removeLeftoverEncodes(workDir: string): number {
  let names: string[];
  try {
    names = readdirSync(workDir);
  } catch {
    return 0;
  }
  for (const name of names) rmSync(join(workDir, name), { recursive: true, force: true });
  return names.length;
}

/** A clip that will never be stored, as the clip-lost event tells it. */
export interface LostClip {
  clipId: string;
  trigger: RecordingIntent['trigger'];
  /** The events whose clip this was (empty when not known: a journal entry that could not be read). */
  triggerEventIds: string[];
  /** The visit the clip belongs to, when known. */
  sessionId?: string | undefined;
  startedAt: string;
  endedAt: string;
  reason: string;
}

export interface RecoveryOptions {
  journal: IntentJournal;
  /** What the camera's feed times index in this run. */
  source: IntentSource;
  maxClipMs: number;
  /** Device time now (ISO), from the Clock: dates a plan whose journal entry cannot be read. */
  now(): string;
  /** Whether the clip already reached the spool or the bucket before the crash (then there is nothing to do). */
  alreadyKept(intent: RecordingIntent, startedAt: string): Promise<boolean>;
  /** Cuts the clip again; resolves once it is spooled. */
  record(plan: PlannedClip, times: { startedAt: string; endedAt: string; eventId: string }): Promise<void>;
  onLost(lost: LostClip): void;
  /** The last seq the outbox holds: a plan whose trigger seq is beyond it was never published. */
  lastPublishedSeq?: number;
  /** Whether the clip's outcome was already announced (a crash came before its plan was forgotten). */
  announced?: (clipId: string) => boolean;
}

export interface RecoveryReport {
  /** Clips being cut again (their record() promises, settled with an outcome each). */
  recut: Array<Promise<void>>;
  lost: number;
  alreadyKept: number;
  /** Plans journaled for a trigger that a crash kept from the outbox: nobody saw the trigger, so no clip is owed. */
  unpublished: number;
}

/**
 * What a crash left open: each journaled clip is cut again from the source when the footage is still there (the
 * camera's source is a looped file: the same feed times show the same frames), or announced lost with the reason.
 * Every journaled plan gets exactly one outcome, and its journal entry goes with it.
 */
export async function recoverIntents(options: RecoveryOptions): Promise<RecoveryReport> {
  const { journal } = options;
  const { intents, unreadable } = journal.leftovers();
  const report: RecoveryReport = { recut: [], lost: 0, alreadyKept: 0, unpublished: 0 };
  const lose = (lost: LostClip) => {
    options.onLost(lost);
    journal.finish(lost.clipId);
    report.lost += 1;
  };
  for (const bad of unreadable) {
    // Nothing dates it: the announcement carries the time of the recovery.
    const now = options.now();
    lose({
      clipId: bad.clipId,
      trigger: 'manual',
      triggerEventIds: [],
      startedAt: now,
      endedAt: now,
      reason: bad.problem,
    });
  }
  for (const intent of intents) {
    if (intent.triggerSeq !== undefined && intent.triggerSeq > (options.lastPublishedSeq ?? 0)) {
      journal.finish(intent.clipId);
      report.unpublished += 1;
      continue;
    }
    const plan = planOf(intent, options.maxClipMs, options.lastPublishedSeq);
    const startedAt = intentDeviceIso(intent, plan.startFeedMs);
    const endedAt = intentDeviceIso(intent, plan.endFeedMs);
    const lost = (reason: string) =>
      lose({
        clipId: intent.clipId,
        trigger: intent.trigger,
        triggerEventIds: plan.triggerEventIds,
        sessionId: plan.sessionId,
        startedAt,
        endedAt,
        reason,
      });
    if (options.announced?.(intent.clipId) || (await options.alreadyKept(intent, startedAt))) {
      journal.finish(intent.clipId);
      report.alreadyKept += 1;
      continue;
    }
    const why = unrecoverable(intent.source, options.source);
    if (why) {
      lost(`the recording was interrupted (crash) and ${why}`);
      continue;
    }
    report.recut.push(
      options.record(plan, { startedAt, endedAt, eventId: intent.clipId }).then(
        () => journal.finish(intent.clipId),
        (error: Error) =>
          lost(`the recording was interrupted (crash) and cutting it again failed: ${error.message}`),
      ),
    );
  }
  return report;
}

function unrecoverable(then: IntentSource, now: IntentSource): string | undefined {
  if (then.kind === 'unrecoverable') return then.why;
  if (now.kind !== 'looped-file' || now.path !== then.path || now.bytes !== then.bytes) {
    return `its source ${then.path} is no longer the camera's source`;
  }
  return undefined;
}
