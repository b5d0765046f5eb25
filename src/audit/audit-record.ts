import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

export type ShareDecision = 'approve' | 'decline' | 'timeout' | 'opt-out' | 'deny' | 'allow';

export interface AuditRequester {
  kind: string;
  identity: string;
}

/** What callers append. The log adds seq, at, prevHash and hash. */
export type AuditEntry =
  | {
      type: 'share-request';
      /** Who asked, e.g. "agency:Springfield PD". */
      actor: string;
      requestId: string;
      requestType: 'share' | 'legal-demand';
      requester: AuditRequester;
      reason: string;
      window: { from: string; to: string };
      demandRef?: string;
    }
  | {
      type: 'share-decision';
      /** "owner" for approve/decline, "policy" for deny/allow/opt-out/timeout. */
      actor: string;
      requestId: string;
      decision: ShareDecision;
    }
  | {
      type: 'share-release';
      actor: string;
      requestId: string;
      clipIds: string[];
      linksExpireAt: string;
    }
  | {
      type: 'legal-hold';
      actor: string;
      requestId: string;
      demandRef: string;
      clipIds: string[];
      /** Clips in the demand's window whose hold could not be set. */
      failedClipIds?: string[];
    };

export type AuditRecordType = AuditEntry['type'];

export interface ChainFields {
  /** 1-based, equals the line number. */
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
}

export type AuditRecord = AuditEntry & ChainFields;

/** prevHash of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** sha256 over the canonical JSON of everything in the record except `hash` (so prevHash is covered). */
export function recordHash(record: Record<string, unknown>): string {
  const { hash: _ignored, ...content } = record;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

export function sealRecord(entry: AuditEntry, seq: number, at: string, prevHash: string): AuditRecord {
  const unsealed = { seq, at, ...entry, prevHash };
  return { ...unsealed, hash: recordHash(unsealed) } as AuditRecord;
}
