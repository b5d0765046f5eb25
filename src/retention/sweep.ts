import type { Logger } from '../log/logger.js';
import type { Bucket, ObjectHead } from '../storage/bucket.js';
import { clipObjectMetadata, type NormalizedClip } from '../storage/clip-metadata.js';
import { CLIPS_PREFIX } from '../storage/keys.js';
import { withClipLock } from './legal-hold.js';
import type { RetentionMode } from './modes.js';
import {
  type DeleteDecision,
  isExpired,
  type KeepDecision,
  planRetention,
  retentionFacts,
} from './policy.js';

/** The part of the upload queue the sweep needs (UploadQueue satisfies it). */
export interface SpoolView {
  entries(): Array<{ entryId: string; clip: NormalizedClip; uploading: boolean }>;
  /** `keep` is asked about the entry as it is at that moment; true leaves it (a hold set since entries()). */
  discard(entryId: string, reason: string, keep?: (clip: NormalizedClip) => boolean): Promise<boolean>;
}

export interface SweepOptions {
  bucket: Bucket;
  /** The sweep's notion of now (epoch ms), from a Clock: real or virtual. */
  nowMs: number;
  /** Report what would go, delete nothing. */
  dryRun?: boolean;
  prefix?: string;
  /** Also discard expired clips still waiting in the spool. */
  spool?: SpoolView;
  logger?: Logger;
  /**
   * Who enforces retention in the bucket (default sweeper). Under Object Lock or a lifecycle rule the store expires
   * objects itself and the agent needs no right to delete them: the sweep only reports what is due (the spool, which
   * is local, is still swept).
   */
  mode?: RetentionMode;
}

export interface SweepReport {
  at: string;
  bucket: string;
  dryRun: boolean;
  /** Who enforces retention in the bucket; anything but sweeper leaves expired objects to the store. */
  mode: RetentionMode;
  /** Deleted (or, on a dry run, would be). */
  deleted: DeleteDecision[];
  /** Expired, left for the store to remove (Object Lock or lifecycle mode). */
  due: DeleteDecision[];
  /** Kept only because of a legal hold. */
  held: KeepDecision[];
  /** Kept, still inside retention. */
  retained: number;
  /** Kept because nothing on them says when they were recorded. */
  undated: string[];
  spoolDiscarded: Array<{ entryId: string; clipId: string; expiredAt: string }>;
  /** Objects the sweep could not read or delete; it carried on with the rest. */
  errors: Array<{ key: string; error: string }>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One retention pass at `nowMs`: reads every object's metadata under the prefix, applies the pure policy,
 * deletes what expired (a clip together with its thumbnail; sidecars go with their objects) and, if given,
 * expired clips still in the spool. A failing object is reported and skipped, not fatal.
 */
export async function sweepRetention(options: SweepOptions): Promise<SweepReport> {
  const { bucket, nowMs } = options;
  const dryRun = options.dryRun ?? false;
  const mode = options.mode ?? 'sweeper';
  const report: SweepReport = {
    at: new Date(nowMs).toISOString(),
    bucket: bucket.describe(),
    dryRun,
    mode,
    deleted: [],
    due: [],
    held: [],
    retained: 0,
    undated: [],
    spoolDiscarded: [],
    errors: [],
  };
  const heads: ObjectHead[] = [];
  for await (const summary of bucket.list(options.prefix ?? CLIPS_PREFIX)) {
    try {
      const head = await bucket.head(summary.key);
      if (head) heads.push(head);
    } catch (error) {
      report.errors.push({ key: summary.key, error: messageOf(error) });
    }
  }
  const plan = planRetention(heads, nowMs);
  tallyKept(report, plan.keep);
  if (mode !== 'sweeper') report.due.push(...plan.delete);
  else if (dryRun) report.deleted.push(...plan.delete);
  else for (const group of groupByClip(plan.delete)) await deleteGroup(bucket, group, nowMs, report);
  if (options.spool) await sweepSpool(options.spool, nowMs, dryRun, report);
  options.logger?.info(
    {
      bucket: report.bucket,
      dryRun,
      mode,
      deleted: report.deleted.length,
      due: report.due.length,
      held: report.held.length,
      retained: report.retained,
      undated: report.undated.length,
      spoolDiscarded: report.spoolDiscarded.length,
      errors: report.errors.length,
    },
    mode !== 'sweeper'
      ? `retention report (the bucket enforces it: ${mode})`
      : dryRun
        ? 'retention dry run'
        : 'retention sweep',
  );
  return report;
}

function tallyKept(report: SweepReport, kept: readonly KeepDecision[]): void {
  for (const keep of kept) {
    if (keep.reason === 'legal-hold') report.held.push(keep);
    else if (keep.reason === 'undated') report.undated.push(keep.key);
    else report.retained += 1;
  }
}

/** Delete decisions of one clip (its .mp4 and .jpg) together; objects that are no clip's stand alone. */
function groupByClip(decisions: readonly DeleteDecision[]): DeleteDecision[][] {
  const groups = new Map<string, DeleteDecision[]>();
  for (const decision of decisions) {
    const group = decision.clipId === undefined ? `key:${decision.key}` : `clip:${decision.clipId}`;
    groups.set(group, [...(groups.get(group) ?? []), decision]);
  }
  return [...groups.values()];
}

/**
 * Deletes one clip's objects if, read again under the clip's lock, they are still expired and not held: a hold
 * set (or a retain-until moved) after the sweep listed the bucket wins.
 */
async function deleteGroup(
  bucket: Bucket,
  group: DeleteDecision[],
  nowMs: number,
  report: SweepReport,
): Promise<void> {
  const recheck = async (): Promise<void> => {
    const heads: ObjectHead[] = [];
    for (const decision of group) {
      try {
        const head = await bucket.head(decision.key);
        if (head) heads.push(head);
      } catch (error) {
        report.errors.push({ key: decision.key, error: messageOf(error) });
        return;
      }
    }
    const plan = planRetention(heads, nowMs);
    tallyKept(report, plan.keep);
    for (const decision of plan.delete) {
      try {
        await bucket.delete(decision.key);
        report.deleted.push(decision);
      } catch (error) {
        report.errors.push({ key: decision.key, error: messageOf(error) });
      }
    }
  };
  const clipId = group[0]?.clipId;
  try {
    await (clipId === undefined ? recheck() : withClipLock(bucket, clipId, recheck));
  } catch (error) {
    for (const decision of group) report.errors.push({ key: decision.key, error: messageOf(error) });
  }
}

async function sweepSpool(
  spool: SpoolView,
  nowMs: number,
  dryRun: boolean,
  report: SweepReport,
): Promise<void> {
  for (const entry of spool.entries()) {
    const facts = retentionFacts(clipObjectMetadata(entry.clip));
    if (!isExpired(facts, nowMs) || entry.uploading) continue;
    const expiredAt = new Date(facts.expiresAtMs!).toISOString();
    const reason = `retention expired at ${expiredAt} before the clip could be uploaded`;
    try {
      const keep = (clip: NormalizedClip) => !isExpired(retentionFacts(clipObjectMetadata(clip)), nowMs);
      if (dryRun || (await spool.discard(entry.entryId, reason, keep))) {
        report.spoolDiscarded.push({ entryId: entry.entryId, clipId: entry.clip.clipId, expiredAt });
      }
    } catch (error) {
      report.errors.push({ key: `spool:${entry.entryId}`, error: messageOf(error) });
    }
  }
}
