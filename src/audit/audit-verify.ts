import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { GENESIS_HASH, recordHash } from './audit-record.js';
import { canonicalJson } from './canonical-json.js';

export type AuditVerifyResult =
  | { ok: true; records: number; head: string }
  | {
      ok: false;
      /** 1-based line number of the first bad line. */
      line: number;
      reason: string;
      /** Records before the bad line that verified. */
      records: number;
    };

const HASH = /^[0-9a-f]{64}$/;

/**
 * Checks a hash chain line by line. Pure: feed lines with `line()`, then `finish()`. Stops at the first problem.
 *
 * What it catches: an edited line (its hash no longer matches its content, or it is not in canonical form — a
 * duplicate key is refused even when the value JSON.parse keeps is the hashed one), a removed, inserted or reordered line
 * (the next line's prevHash or seq no longer follows). What no chain can catch on its own: dropping the newest
 * lines, or rewriting every line from some point on — pass `expectedHead` (a head hash recorded elsewhere, e.g.
 * published or printed by an earlier verify) to pin the end.
 */
export class AuditChainVerifier {
  private count = 0;
  private head = GENESIS_HASH;
  private failure: Extract<AuditVerifyResult, { ok: false }> | undefined;

  line(text: string): boolean {
    if (this.failure) return false;
    const lineNumber = this.count + 1;
    const problem = this.check(text, lineNumber);
    if (problem) {
      this.failure = { ok: false, line: lineNumber, reason: problem, records: this.count };
      return false;
    }
    return true;
  }

  finish(options: { expectedHead?: string; incompleteLastLine?: boolean } = {}): AuditVerifyResult {
    if (this.failure) return this.failure;
    if (options.incompleteLastLine) {
      return {
        ok: false,
        line: this.count,
        reason: 'the last line has no newline — an append was interrupted',
        records: this.count - 1,
      };
    }
    if (options.expectedHead !== undefined && options.expectedHead !== this.head) {
      return {
        ok: false,
        line: this.count + 1,
        reason: `the log ends at head ${this.head}, expected ${options.expectedHead} — records were removed or rewritten`,
        records: this.count,
      };
    }
    return { ok: true, records: this.count, head: this.head };
  }

  private check(text: string, lineNumber: number): string | undefined {
    if (text.trim() === '') return 'empty line';
    let record: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not a JSON object';
      record = parsed as Record<string, unknown>;
    } catch {
      return 'not valid JSON';
    }
    // The hash covers what JSON.parse kept; a line that says more (a duplicate key, whose first value a reader
    // other than JSON.parse might take) or says it differently is not the line that was hashed.
    if (text !== canonicalJson(record) && text !== JSON.stringify(record)) {
      return 'not in canonical form (a duplicate key, or reformatted) — the line was edited';
    }
    const { hash, prevHash, seq } = record;
    if (typeof hash !== 'string' || !HASH.test(hash)) return 'missing or malformed hash';
    if (typeof prevHash !== 'string' || !HASH.test(prevHash)) return 'missing or malformed prevHash';
    if (recordHash(record) !== hash) return 'hash does not match the content — the line was edited';
    if (prevHash !== this.head) {
      return lineNumber === 1
        ? 'prevHash is not the genesis hash — lines before it were removed'
        : `prevHash does not match line ${lineNumber - 1} — a line was removed, inserted or reordered here`;
    }
    if (seq !== lineNumber)
      return `seq ${String(seq)}, expected ${lineNumber} — a line was removed, inserted or reordered`;
    this.count = lineNumber;
    this.head = hash;
    return undefined;
  }
}

export function verifyAuditLines(lines: Iterable<string>, expectedHead?: string): AuditVerifyResult {
  const verifier = new AuditChainVerifier();
  for (const text of lines) if (!verifier.line(text)) break;
  return verifier.finish(expectedHead === undefined ? {} : { expectedHead });
}

/** Verifies an audit log file, streaming it line by line. A missing file rejects with ENOENT. */
export async function verifyAuditLog(
  path: string,
  options: { expectedHead?: string } = {},
): Promise<AuditVerifyResult> {
  const incompleteLastLine = await endsWithoutNewline(path);
  const verifier = new AuditChainVerifier();
  const lines = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  try {
    for await (const text of lines) if (!verifier.line(text)) break;
  } finally {
    lines.close();
  }
  return verifier.finish({ incompleteLastLine, ...options });
}

async function endsWithoutNewline(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await handle.close();
  }
}
