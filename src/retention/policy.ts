import type { ObjectHead } from '../storage/bucket.js';
import { parseClipKey } from '../storage/keys.js';

/** Pure retention rules: what expires when. No I/O, no clock: `now` is an argument. */

export const DAY_MS = 86_400_000;
export const DEFAULT_RETENTION_DAYS = 60;

export function retainUntilMs(recordedAtMs: number, retentionDays: number): number {
  return recordedAtMs + retentionDays * DAY_MS;
}

export function retainUntilIso(recordedAt: string, retentionDays: number): string {
  return new Date(retainUntilMs(Date.parse(recordedAt), retentionDays)).toISOString();
}

/** The retention facts of one object, read from its metadata. */
export interface RetentionFacts {
  /** Epoch ms after which the object may go, or undefined if nothing dates it. */
  expiresAtMs: number | undefined;
  legalHold: boolean;
}

/**
 * expiry = recorded-at + retention-days. When retain-until is also stated and later, it wins: the object is
 * never deleted before any date written on it. An object with neither is undated and kept.
 */
export function retentionFacts(metadata: Record<string, string>): RetentionFacts {
  const legalHold = metadata['legal-hold'] === 'true';
  const recordedAt = Date.parse(metadata['recorded-at'] ?? '');
  const days = Number(metadata['retention-days']);
  const computed =
    Number.isFinite(recordedAt) && Number.isFinite(days) && days > 0
      ? retainUntilMs(recordedAt, days)
      : undefined;
  const statedRaw = Date.parse(metadata['retain-until'] ?? '');
  const stated = Number.isFinite(statedRaw) ? statedRaw : undefined;
  const expiresAtMs =
    computed === undefined ? stated : stated === undefined ? computed : Math.max(computed, stated);
  return { expiresAtMs, legalHold };
}

export type KeepReason = 'retained' | 'legal-hold' | 'undated';

export interface DeleteDecision {
  key: string;
  clipId: string | undefined;
  expiredAt: string;
}

export interface KeepDecision {
  key: string;
  clipId: string | undefined;
  reason: KeepReason;
  /** When it would expire (absent for undated objects). */
  until?: string;
}

export interface RetentionPlan {
  delete: DeleteDecision[];
  keep: KeepDecision[];
}

/**
 * Decides which objects go at `nowMs`. A clip's objects (.mp4 and its .jpg) are decided together: dated by the
 * clip's own metadata (the thumbnail's if the clip has none), held if any of them is held.
 */
export function planRetention(heads: readonly ObjectHead[], nowMs: number): RetentionPlan {
  const groups = new Map<string, ObjectHead[]>();
  for (const head of heads) {
    const parsed = parseClipKey(head.key);
    const group = parsed ? `clip:${parsed.deviceId}/${parsed.date}/${parsed.clipId}` : `key:${head.key}`;
    const list = groups.get(group) ?? [];
    list.push(head);
    groups.set(group, list);
  }
  const plan: RetentionPlan = { delete: [], keep: [] };
  for (const members of groups.values()) {
    const primary = members.find((head) => parseClipKey(head.key)?.kind === 'clip') ?? members[0]!;
    const facts = retentionFacts(primary.metadata);
    const held = members.some((head) => retentionFacts(head.metadata).legalHold);
    const expiresAt =
      facts.expiresAtMs ??
      members.map((m) => retentionFacts(m.metadata).expiresAtMs).find((ms) => ms !== undefined);
    for (const head of members) {
      const clipId = parseClipKey(head.key)?.clipId;
      const until = expiresAt === undefined ? undefined : new Date(expiresAt).toISOString();
      if (held) plan.keep.push({ key: head.key, clipId, reason: 'legal-hold', ...(until ? { until } : {}) });
      else if (expiresAt === undefined) plan.keep.push({ key: head.key, clipId, reason: 'undated' });
      else if (nowMs >= expiresAt) plan.delete.push({ key: head.key, clipId, expiredAt: until! });
      else plan.keep.push({ key: head.key, clipId, reason: 'retained', until: until! });
    }
  }
  const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  plan.delete.sort(byKey);
  plan.keep.sort(byKey);
  return plan;
}

/** Whether a spooled (not yet uploaded) clip has outlived its retention at `nowMs`. */
export function isExpired(facts: RetentionFacts, nowMs: number): boolean {
  return !facts.legalHold && facts.expiresAtMs !== undefined && nowMs >= facts.expiresAtMs;
}
