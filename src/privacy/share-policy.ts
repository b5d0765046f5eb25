import type { AuditEntry, ShareDecision } from '../audit/audit-record.js';
import type {
  FootageRequest,
  LegalDemand,
  Requester,
  ShareRequest,
  TimeWindow,
  Transaction,
} from './share-request.js';

/**
 * The owner's share-request policy as a pure state machine: `stepSharePolicy(state, input, now)` returns the next
 * state and the effects to carry out, in order. No I/O, no clock: the shell passes `now` and calls with
 * `{type: 'tick'}` at `nextShareDeadline(state)`.
 *
 * Privacy promises this encodes:
 * - Nothing is released without consent: 'deny' (the default) and an opt-out never prompt and never release;
 *   'ask' releases only after an explicit approve.
 * - Nobody can tell who declined: every share request gets the same immediate acknowledgement, and every outcome
 *   that is not a release — deny, opt-out, decline, timeout, approve-with-nothing-in-window — is answered with the
 *   same "no footage" payload at the same moment, `answerAt` = received + consentTimeoutMs. An immediate "no" from
 *   an opted-out device would otherwise be told apart from a late "no" from an owner who declined.
 * - Only clips wholly inside the window are released (never footage from outside it); a legal hold takes every
 *   clip that overlaps the window (preservation errs the other way). A legal demand releases nothing by itself and
 *   applies even to opted-out devices.
 */

export type OwnerSharePolicy = 'deny' | 'ask' | 'allow';

export interface SharePolicyConfig {
  policy: OwnerSharePolicy;
  /** Per-device opt-out: refuse every share request (legal holds still apply). */
  optedOut: boolean;
  /** How long the owner has to answer a prompt; also the uniform delay of every "no footage" answer. */
  consentTimeoutMs: number;
  /** Lifetime of the links in a release. */
  linkTtlMs: number;
  /** Share requests awaiting an answer at once; more are rejected (an owner must not be flooded with prompts). */
  maxPending: number;
  /**
   * Share requests one requester may have awaiting an answer at once, whatever the policy (a limit that applied
   * only under `ask` would tell the requester the policy). The default 1 means one prompt per requester at a time,
   * and one requester's flood cannot fill `maxPending` for everyone else.
   */
  maxPendingPerRequester: number;
}

export const DEFAULT_SHARE_POLICY: SharePolicyConfig = {
  policy: 'deny',
  optedOut: false,
  consentTimeoutMs: 15 * 60_000,
  linkTtlMs: 24 * 3600_000,
  maxPending: 20,
  maxPendingPerRequester: 1,
};

/** A clip the device holds. Times are epoch ms. */
export interface ClipRef {
  clipId: string;
  /** Bucket object key. */
  key: string;
  startedAt: number;
  endedAt: number;
  /** End-to-end encrypted: the object is an envelope only the owner's key opens. */
  encrypted?: boolean;
}

export interface PendingShare {
  request: ShareRequest;
  receivedAt: number;
  answerAt: number;
  phase: 'awaiting-owner' | 'answer-scheduled';
}

export interface SharePolicyState {
  config: SharePolicyConfig;
  /** Requests not yet answered, in arrival order. */
  pending: readonly PendingShare[];
}

export type SharePolicyInput =
  | { type: 'request'; request: FootageRequest; clips: readonly ClipRef[] }
  | { type: 'owner-decision'; requestId: string; decision: 'approve' | 'decline'; clips: readonly ClipRef[] }
  | { type: 'configure'; config: Partial<SharePolicyConfig> }
  | { type: 'tick' };

/** What the requester sees. Built only by the functions below, so equal outcomes give equal bytes. */
export interface RequesterAnswer {
  requestId: string;
  clips: ReleasedClip[];
}

export interface ReleasedClip {
  clipId: string;
  startedAt: string;
  endedAt: string;
  url: string;
  expiresAt: string;
  /** The link serves an encrypted envelope (only the owner's key opens it: `doorbell decrypt`), not an MP4. */
  encrypted: boolean;
}

export interface ShareAcknowledgement {
  requestId: string;
  received: true;
  answerBy: string;
}

export interface LegalDemandAcknowledgement {
  requestId: string;
  demandRef: string;
  hold: 'recorded';
}

export interface ConsentPrompt {
  requestId: string;
  requester: Requester;
  reason: string;
  window: { from: string; to: string };
  /** Clips that an approval would release. */
  clipsInWindow: number;
  expiresAt: string;
}

export interface LegalHoldNotice {
  requestId: string;
  requester: Requester;
  demandRef: string;
  reason: string;
  window: { from: string; to: string };
  clipIds: string[];
}

export type ShareEffect =
  /** The immediate reply to the request command (same for every policy). */
  | {
      type: 'acknowledge';
      requestId: string;
      transaction?: Transaction;
      data: ShareAcknowledgement | LegalDemandAcknowledgement;
    }
  /** The request could not be taken (duplicate id, too many pending); reply with an error. */
  | { type: 'reject-request'; requestId: string; transaction?: Transaction; code: string; message: string }
  /** The final answer: "no footage", for `requester` (a broker username) only. */
  | {
      type: 'respond';
      requestId: string;
      requester: string;
      transaction?: Transaction;
      data: RequesterAnswer;
    }
  /**
   * Make time-limited links for these clips, then answer with `releaseAnswer(effect, urls)`. With end-to-end
   * encryption on, the objects are ciphertext the device cannot open: the links are only useful together with
   * the owner re-wrapping each data key for the requester (owner side, not modelled here).
   */
  | {
      type: 'release';
      requestId: string;
      requester: string;
      transaction?: Transaction;
      clips: ClipRef[];
      expiresAt: number;
    }
  | { type: 'prompt-owner'; prompt: ConsentPrompt }
  | { type: 'withdraw-prompt'; requestId: string; reason: 'expired' | 'opted-out' }
  | { type: 'notify-owner'; notice: LegalHoldNotice }
  /** Put these clips under legal hold (retention must not delete them), e.g. `legal-hold: true` metadata. */
  | { type: 'hold'; requestId: string; demandRef: string; clips: ClipRef[] }
  /** The owner answered a request that is unknown, expired or already decided. */
  | { type: 'reject-decision'; requestId: string; message: string }
  | { type: 'audit'; entry: AuditEntry };

export interface ShareStep {
  state: SharePolicyState;
  effects: ShareEffect[];
}

export function initialShareState(config: Partial<SharePolicyConfig> = {}): SharePolicyState {
  return { config: { ...DEFAULT_SHARE_POLICY, ...config }, pending: [] };
}

/** When the shell must call `{type: 'tick'}` next, or undefined when nothing is waiting. */
export function nextShareDeadline(state: SharePolicyState): number | undefined {
  let next: number | undefined;
  for (const entry of state.pending) if (next === undefined || entry.answerAt < next) next = entry.answerAt;
  return next;
}

export function stepSharePolicy(state: SharePolicyState, input: SharePolicyInput, now: number): ShareStep {
  switch (input.type) {
    case 'request':
      return input.request.type === 'legal-demand'
        ? onLegalDemand(state, input.request, input.clips)
        : onShareRequest(state, input.request, input.clips, now);
    case 'owner-decision':
      return onOwnerDecision(state, input.requestId, input.decision, input.clips, now);
    case 'configure':
      return onConfigure(state, input.config);
    case 'tick':
      return onTick(state, now);
  }
}

/** The "no footage" answer; the one and only shape every refusal takes. */
export function noFootageAnswer(requestId: string): RequesterAnswer {
  return { requestId, clips: [] };
}

/** The answer for a release, once the shell has a URL per clip (same order as `release.clips`). */
export function releaseAnswer(
  release: Extract<ShareEffect, { type: 'release' }>,
  urls: readonly string[],
): RequesterAnswer {
  if (urls.length !== release.clips.length) {
    throw new Error(`releaseAnswer: ${urls.length} urls for ${release.clips.length} clips`);
  }
  const expiresAt = iso(release.expiresAt);
  return {
    requestId: release.requestId,
    clips: release.clips.map((clip, i) => ({
      clipId: clip.clipId,
      startedAt: iso(clip.startedAt),
      endedAt: iso(clip.endedAt),
      url: urls[i]!,
      expiresAt,
      encrypted: clip.encrypted === true,
    })),
  };
}

export function clipsInsideWindow(clips: readonly ClipRef[], window: TimeWindow): ClipRef[] {
  return clips
    .filter((clip) => clip.startedAt >= window.from && clip.endedAt <= window.to)
    .sort((a, b) => a.startedAt - b.startedAt || compare(a.clipId, b.clipId));
}

export function clipsOverlappingWindow(clips: readonly ClipRef[], window: TimeWindow): ClipRef[] {
  return clips
    .filter((clip) => clip.startedAt < window.to && clip.endedAt > window.from)
    .sort((a, b) => a.startedAt - b.startedAt || compare(a.clipId, b.clipId));
}

function onShareRequest(
  state: SharePolicyState,
  request: ShareRequest,
  clips: readonly ClipRef[],
  now: number,
): ShareStep {
  const { config } = state;
  if (state.pending.some((entry) => entry.request.requestId === request.requestId)) {
    return reject(state, request, 'duplicate-request', `request ${request.requestId} is already pending`);
  }
  const user = request.requester.identity;
  const own = state.pending.filter((entry) => entry.request.requester.identity === user).length;
  if (own >= config.maxPendingPerRequester) {
    return reject(
      state,
      request,
      'busy',
      `${user} already has ${own} request(s) awaiting an answer (at most ${config.maxPendingPerRequester}); try again after it is answered`,
    );
  }
  if (state.pending.length >= config.maxPending) {
    return reject(
      state,
      request,
      'busy',
      `too many pending requests (${config.maxPending}); try again later`,
    );
  }
  const answerAt = now + config.consentTimeoutMs;
  const effects: ShareEffect[] = [
    audit(requestEntry(request)),
    {
      type: 'acknowledge',
      requestId: request.requestId,
      ...tx(request.transaction),
      data: { requestId: request.requestId, received: true, answerBy: iso(answerAt) },
    },
  ];
  const scheduled = (decision: ShareDecision): ShareStep => {
    effects.push(audit(decisionEntry(request.requestId, decision)));
    return {
      state: withPending(state, { request, receivedAt: now, answerAt, phase: 'answer-scheduled' }),
      effects,
    };
  };

  if (config.optedOut) return scheduled('opt-out');
  if (config.policy === 'deny') return scheduled('deny');
  if (config.policy === 'allow') {
    const selected = clipsInsideWindow(clips, request.window);
    if (selected.length === 0) return scheduled('allow');
    effects.push(
      audit(decisionEntry(request.requestId, 'allow')),
      ...release(request, selected, now, config, 'policy'),
    );
    return { state, effects };
  }
  effects.push({
    type: 'prompt-owner',
    prompt: {
      requestId: request.requestId,
      requester: request.requester,
      reason: request.reason,
      window: isoWindow(request.window),
      clipsInWindow: clipsInsideWindow(clips, request.window).length,
      expiresAt: iso(answerAt),
    },
  });
  return {
    state: withPending(state, { request, receivedAt: now, answerAt, phase: 'awaiting-owner' }),
    effects,
  };
}

function onOwnerDecision(
  state: SharePolicyState,
  requestId: string,
  decision: 'approve' | 'decline',
  clips: readonly ClipRef[],
  now: number,
): ShareStep {
  const entry = state.pending.find((candidate) => candidate.request.requestId === requestId);
  if (entry?.phase !== 'awaiting-owner' || now >= entry.answerAt) {
    const message = entry
      ? `request ${requestId} is already decided or expired`
      : `no pending request ${requestId}`;
    return { state, effects: [{ type: 'reject-decision', requestId, message }] };
  }
  const effects: ShareEffect[] = [audit(decisionEntry(requestId, decision, 'owner'))];
  const selected = decision === 'approve' ? clipsInsideWindow(clips, entry.request.window) : [];
  if (selected.length === 0) {
    return { state: replacePending(state, { ...entry, phase: 'answer-scheduled' }), effects };
  }
  effects.push(...release(entry.request, selected, now, state.config, 'owner'));
  return { state: withoutPending(state, requestId), effects };
}

function onLegalDemand(state: SharePolicyState, demand: LegalDemand, clips: readonly ClipRef[]): ShareStep {
  const heldClips = clipsOverlappingWindow(clips, demand.window);
  const held = heldClips.map((clip) => clip.clipId);
  const actor = actorOf(demand.requester);
  return {
    state,
    effects: [
      audit(requestEntry(demand)),
      { type: 'hold', requestId: demand.requestId, demandRef: demand.demandRef, clips: heldClips },
      audit({
        type: 'legal-hold',
        actor,
        requestId: demand.requestId,
        demandRef: demand.demandRef,
        clipIds: held,
      }),
      {
        type: 'notify-owner',
        notice: {
          requestId: demand.requestId,
          requester: demand.requester,
          demandRef: demand.demandRef,
          reason: demand.reason,
          window: isoWindow(demand.window),
          clipIds: held,
        },
      },
      {
        type: 'acknowledge',
        requestId: demand.requestId,
        ...tx(demand.transaction),
        data: { requestId: demand.requestId, demandRef: demand.demandRef, hold: 'recorded' },
      },
    ],
  };
}

function onConfigure(state: SharePolicyState, change: Partial<SharePolicyConfig>): ShareStep {
  const config = { ...state.config, ...change };
  const effects: ShareEffect[] = [];
  let pending = state.pending;
  if (config.optedOut && !state.config.optedOut) {
    // Opting out also ends the prompts already on the owner's screen; their answer stays the uniform one.
    pending = pending.map((entry) => {
      if (entry.phase !== 'awaiting-owner') return entry;
      effects.push(audit(decisionEntry(entry.request.requestId, 'opt-out')), {
        type: 'withdraw-prompt',
        requestId: entry.request.requestId,
        reason: 'opted-out',
      });
      return { ...entry, phase: 'answer-scheduled' as const };
    });
  }
  return { state: { config, pending }, effects };
}

function onTick(state: SharePolicyState, now: number): ShareStep {
  const due = state.pending
    .filter((entry) => entry.answerAt <= now)
    .sort((a, b) => a.answerAt - b.answerAt || a.receivedAt - b.receivedAt);
  if (due.length === 0) return { state, effects: [] };
  const effects: ShareEffect[] = [];
  for (const entry of due) {
    const { requestId, transaction } = entry.request;
    if (entry.phase === 'awaiting-owner') {
      effects.push(audit(decisionEntry(requestId, 'timeout')), {
        type: 'withdraw-prompt',
        requestId,
        reason: 'expired',
      });
    }
    effects.push({
      type: 'respond',
      requestId,
      requester: entry.request.requester.identity,
      ...tx(transaction),
      data: noFootageAnswer(requestId),
    });
  }
  return { state: { ...state, pending: state.pending.filter((entry) => entry.answerAt > now) }, effects };
}

function release(
  request: ShareRequest,
  clips: ClipRef[],
  now: number,
  config: SharePolicyConfig,
  actor: 'owner' | 'policy',
): ShareEffect[] {
  const expiresAt = now + config.linkTtlMs;
  return [
    {
      type: 'release',
      requestId: request.requestId,
      requester: request.requester.identity,
      ...tx(request.transaction),
      clips,
      expiresAt,
    },
    audit({
      type: 'share-release',
      actor,
      requestId: request.requestId,
      clipIds: clips.map((clip) => clip.clipId),
      linksExpireAt: iso(expiresAt),
    }),
  ];
}

function reject(state: SharePolicyState, request: ShareRequest, code: string, message: string): ShareStep {
  return {
    state,
    effects: [
      { type: 'reject-request', requestId: request.requestId, ...tx(request.transaction), code, message },
    ],
  };
}

function requestEntry(request: FootageRequest): AuditEntry {
  return {
    type: 'share-request',
    actor: actorOf(request.requester),
    requestId: request.requestId,
    requestType: request.type,
    requester: { kind: request.requester.kind, identity: request.requester.identity },
    reason: request.reason,
    window: isoWindow(request.window),
    ...(request.type === 'legal-demand' ? { demandRef: request.demandRef } : {}),
  };
}

function decisionEntry(requestId: string, decision: ShareDecision, actor = 'policy'): AuditEntry {
  return { type: 'share-decision', actor, requestId, decision };
}

function audit(entry: AuditEntry): ShareEffect {
  return { type: 'audit', entry };
}

function withPending(state: SharePolicyState, entry: PendingShare): SharePolicyState {
  return { ...state, pending: [...state.pending, entry] };
}

function replacePending(state: SharePolicyState, entry: PendingShare): SharePolicyState {
  const id = entry.request.requestId;
  return {
    ...state,
    pending: state.pending.map((candidate) => (candidate.request.requestId === id ? entry : candidate)),
  };
}

function withoutPending(state: SharePolicyState, requestId: string): SharePolicyState {
  return { ...state, pending: state.pending.filter((entry) => entry.request.requestId !== requestId) };
}

function actorOf(requester: Requester): string {
  return `${requester.kind}:${requester.identity}`;
}

function tx(transaction: Transaction | undefined): { transaction?: Transaction } {
  return transaction === undefined ? {} : { transaction };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoWindow(window: TimeWindow): { from: string; to: string } {
  return { from: iso(window.from), to: iso(window.to) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
