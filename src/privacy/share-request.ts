import { z } from 'zod';
import { issueLine } from '../util/zod-errors.js';

/**
 * Requests as they arrive on `doorbell/<id>/requester/<user>/request/share` (and `…/request/legal-demand`),
 * validated at the door. Who asks is not in the payload: it is `<user>`, the broker login whose namespace the
 * request came in, and the broker lets only users with the `requester` or `agency` role send these.
 */
export const REQUESTER_KINDS = ['requester', 'agency'] as const;
export type RequesterKind = (typeof REQUESTER_KINDS)[number];

export interface Requester {
  /** `agency` for a legal demand (only the agency role may send one), else `requester`. */
  kind: RequesterKind;
  /** The authenticated broker username. */
  identity: string;
}

/** Epoch milliseconds, `from` < `to`. */
export interface TimeWindow {
  from: number;
  to: number;
}

export type Transaction = string | number;

export interface ShareRequest {
  type: 'share';
  requestId: string;
  requester: Requester;
  reason: string;
  window: TimeWindow;
  transaction?: Transaction;
}

export interface LegalDemand {
  type: 'legal-demand';
  requestId: string;
  requester: Requester;
  reason: string;
  /** The court order / warrant / preservation letter reference. */
  demandRef: string;
  window: TimeWindow;
  transaction?: Transaction;
}

export type FootageRequest = ShareRequest | LegalDemand;

export const DEFAULT_MAX_WINDOW_MS = 7 * 24 * 3600_000;

const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, 'must be 1–64 letters, digits, . _ : -');
const Text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
const Time = z.iso.datetime({ offset: true });

const WindowSchema = z.object({ from: Time, to: Time }).strict();

export const ShareArgs = z
  .object({
    type: z.literal('share').default('share'),
    requestId: Id,
    reason: Text(500),
    window: WindowSchema,
  })
  .strict();

export const LegalDemandArgs = z
  .object({
    type: z.literal('legal-demand').default('legal-demand'),
    requestId: Id,
    reason: Text(500),
    demandRef: Text(128),
    window: WindowSchema,
  })
  .strict();

export type ParsedRequest<T> = { ok: true; request: T } | { ok: false; error: string };

export interface ParseOptions {
  /** The broker user the request came from (its namespace). */
  user: string;
  transaction?: Transaction;
  maxWindowMs?: number;
}

/** Validates `request/share` arguments (the request JSON minus `transaction`). */
export function parseShareRequest(args: unknown, options: ParseOptions): ParsedRequest<ShareRequest> {
  const parsed = ShareArgs.safeParse(args);
  if (!parsed.success) return { ok: false, error: describe(parsed.error) };
  const window = toWindow(parsed.data.window, options.maxWindowMs);
  if (typeof window === 'string') return { ok: false, error: window };
  const requester: Requester = { kind: 'requester', identity: options.user };
  return { ok: true, request: { ...parsed.data, requester, window, ...transactionOf(options.transaction) } };
}

/** Validates `request/legal-demand` arguments. */
export function parseLegalDemand(args: unknown, options: ParseOptions): ParsedRequest<LegalDemand> {
  const parsed = LegalDemandArgs.safeParse(args);
  if (!parsed.success) return { ok: false, error: describe(parsed.error) };
  const window = toWindow(parsed.data.window, options.maxWindowMs);
  if (typeof window === 'string') return { ok: false, error: window };
  const requester: Requester = { kind: 'agency', identity: options.user };
  return { ok: true, request: { ...parsed.data, requester, window, ...transactionOf(options.transaction) } };
}

function toWindow(
  window: { from: string; to: string },
  maxWindowMs = DEFAULT_MAX_WINDOW_MS,
): TimeWindow | string {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  if (!(from < to)) return `window: from (${window.from}) must be before to (${window.to})`;
  if (to - from > maxWindowMs) {
    return `window: spans ${Math.round((to - from) / 3600_000)} h; at most ${Math.round(maxWindowMs / 3600_000)} h allowed`;
  }
  return { from, to };
}

function transactionOf(transaction: Transaction | undefined): { transaction?: Transaction } {
  return transaction === undefined ? {} : { transaction };
}

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys' && issue.keys.includes('requester')) {
        return 'requester: not taken from the payload; who asks is the broker login whose namespace the request came in';
      }
      return issueLine(issue, { root: 'request', unknownKeys: 'plain' });
    })
    .join('; ');
}
