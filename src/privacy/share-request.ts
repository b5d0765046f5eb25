import { z } from 'zod';

/** Requests as they arrive on `doorbell/<id>/request/share` (and `request/legal-demand`), validated at the door. */
export const REQUESTER_KINDS = ['agency', 'neighbour', 'insurer', 'other'] as const;
export type RequesterKind = (typeof REQUESTER_KINDS)[number];

export interface Requester {
  kind: RequesterKind;
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

const RequesterSchema = z.object({ kind: z.enum(REQUESTER_KINDS), identity: Text(128) }).strict();
const WindowSchema = z.object({ from: Time, to: Time }).strict();

export const ShareArgs = z
  .object({
    type: z.literal('share').default('share'),
    requestId: Id,
    requester: RequesterSchema,
    reason: Text(500),
    window: WindowSchema,
  })
  .strict();

export const LegalDemandArgs = z
  .object({
    type: z.literal('legal-demand').default('legal-demand'),
    requestId: Id,
    requester: RequesterSchema,
    reason: Text(500),
    demandRef: Text(128),
    window: WindowSchema,
  })
  .strict();

export type ParsedRequest<T> = { ok: true; request: T } | { ok: false; error: string };

/** Validates `request/share` arguments (the request JSON minus `transaction`). */
export function parseShareRequest(
  args: unknown,
  options: { transaction?: Transaction; maxWindowMs?: number } = {},
): ParsedRequest<ShareRequest> {
  const parsed = ShareArgs.safeParse(args);
  if (!parsed.success) return { ok: false, error: describe(parsed.error) };
  const window = toWindow(parsed.data.window, options.maxWindowMs);
  if (typeof window === 'string') return { ok: false, error: window };
  return { ok: true, request: { ...parsed.data, window, ...transactionOf(options.transaction) } };
}

/** Validates `request/legal-demand` arguments. */
export function parseLegalDemand(
  args: unknown,
  options: { transaction?: Transaction; maxWindowMs?: number } = {},
): ParsedRequest<LegalDemand> {
  const parsed = LegalDemandArgs.safeParse(args);
  if (!parsed.success) return { ok: false, error: describe(parsed.error) };
  const window = toWindow(parsed.data.window, options.maxWindowMs);
  if (typeof window === 'string') return { ok: false, error: window };
  return { ok: true, request: { ...parsed.data, window, ...transactionOf(options.transaction) } };
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
      const path = issue.path.join('.') || 'request';
      const keys = issue.code === 'unrecognized_keys' ? ` ${issue.keys.join(', ')}` : '';
      return `${path}: ${issue.message}${keys}`;
    })
    .join('; ');
}
