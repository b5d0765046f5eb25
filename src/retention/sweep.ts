import type { Logger } from '../log/logger.js';
import type { Bucket, ObjectHead } from '../storage/bucket.js';
import { clipObjectMetadata, type NormalizedClip } from '../storage/clip-metadata.js';
import { CLIPS_PREFIX } from '../storage/keys.js';
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
  discard(entryId: string, reason: string): Promise<boolean>;
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
}

export interface SweepReport {
  at: string;
  bucket: string;
  dryRun: boolean;
  /** Deleted (or, on a dry run, would be). */
  deleted: DeleteDecision[];
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
  const report: SweepReport = {
    at: new Date(nowMs).toISOString(),
    bucket: bucket.describe(),
    dryRun,
    deleted: [],
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
  for (const keep of plan.keep) {
    if (keep.reason === 'legal-hold') report.held.push(keep);
    else if (keep.reason === 'undated') report.undated.push(keep.key);
    else report.retained += 1;
  }
  for (const decision of plan.delete) {
    if (!dryRun) {
      try {
        await bucket.delete(decision.key);
      } catch (error) {
        report.errors.push({ key: decision.key, error: messageOf(error) });
        continue;
      }
    }
    report.deleted.push(decision);
  }
  if (options.spool) await sweepSpool(options.spool, nowMs, dryRun, report);
  options.logger?.info(
    {
      bucket: report.bucket,
      dryRun,
      deleted: report.deleted.length,
      held: report.held.length,
      retained: report.retained,
      undated: report.undated.length,
      spoolDiscarded: report.spoolDiscarded.length,
      errors: report.errors.length,
    },
    dryRun ? 'retention dry run' : 'retention sweep',
  );
  return report;
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
      if (dryRun || (await spool.discard(entry.entryId, reason))) {
        report.spoolDiscarded.push({ entryId: entry.entryId, clipId: entry.clip.clipId, expiredAt });
      }
    } catch (error) {
      report.errors.push({ key: `spool:${entry.entryId}`, error: messageOf(error) });
    }
  }
}
