import type { AuditHead, AuditTrail } from '../audit/audit-log.js';
import type { Clock, TimerHandle } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { DeviceLink } from '../mqtt/device-link.js';
import { CommandError, okResponse, type Transaction } from '../mqtt/requests.js';
import type { DeviceTopics } from '../mqtt/topics.js';
import {
  type ClipRef,
  initialShareState,
  nextShareDeadline,
  releaseAnswer,
  type ShareEffect,
  type SharePolicyConfig,
  type SharePolicyInput,
  type SharePolicyState,
  stepSharePolicy,
} from '../privacy/share-policy.js';
import { parseLegalDemand, parseShareRequest } from '../privacy/share-request.js';
import { setLegalHold } from '../retention/legal-hold.js';
import type { Bucket } from '../storage/bucket.js';
import { CLIP_META } from '../storage/clip-metadata.js';
import { listStoredClips } from '../storage/stored-clips.js';
import type { UploadQueue } from '../storage/upload-queue.js';
import { SerialQueue } from '../util/serial-queue.js';
import type { SignedLinks } from './signed-links.js';

export interface ShareDeskOptions {
  deviceId: string;
  clock: Clock;
  /**
   * Where the device's clips are (and where holds are recorded). A device that stores no clips (a fleet device) has
   * none of bucket, queue, links: it answers every request exactly as a device whose bucket is empty.
   */
  bucket?: Bucket | undefined;
  queue?: UploadQueue | undefined;
  /** Makes the released links (served by the console, whatever the bucket: S3 included). */
  links?: SignedLinks | undefined;
  audit: AuditTrail;
  config: Partial<SharePolicyConfig>;
  /**
   * Publishes the final answer to a share request (same transaction) to its requester only, the owner's prompts and
   * notices, and the audit chain's head (retained, for the owner) after every append.
   */
  send: {
    answer: (data: unknown, transaction: Transaction | undefined, requester: string) => void;
    ownerConsent: (prompt: unknown) => void;
    ownerNotice: (notice: unknown) => void;
    auditHead: (head: AuditHead) => void;
  };
  logger: Logger;
}

/**
 * The shell around the pure share policy: turns MQTT requests into policy inputs, carries out its effects
 * (answers, owner prompts, holds, links, audit records) and wakes it at its deadlines on the Clock.
 */
export class ShareDesk {
  private state: SharePolicyState;
  private timer: TimerHandle | undefined;
  private readonly steps = new SerialQueue();

  constructor(private readonly options: ShareDeskOptions) {
    this.state = initialShareState(options.config);
  }

  /**
   * `request/share` and `request/legal-demand` from `user`'s namespace: resolves with the immediate
   * acknowledgement. `user` is the broker's word for who asks (see share-request.ts).
   */
  request(
    kind: 'share' | 'legal-demand',
    args: Record<string, unknown>,
    transaction: Transaction | undefined,
    user: string,
  ) {
    const parse = kind === 'share' ? parseShareRequest : parseLegalDemand;
    const parsed = parse(args, { user, ...(transaction === undefined ? {} : { transaction }) });
    if (!parsed.ok) throw new CommandError('invalid-arguments', parsed.error);
    return this.steps.run(async () =>
      this.step({ type: 'request', request: parsed.request, clips: await this.clips() }),
    );
  }

  /** `request/share-decision`: the owner approves or declines a prompt. */
  decide(requestId: string, decision: 'approve' | 'decline') {
    return this.steps.run(async () =>
      this.step({ type: 'owner-decision', requestId, decision, clips: await this.clips() }),
    );
  }

  configure(config: Partial<SharePolicyConfig>) {
    return this.steps.run(async () => this.step({ type: 'configure', config }));
  }

  /** Publishes the head of a non-empty audit chain (at start: a log cut shorter since shows against it). */
  async publishAuditHead(): Promise<void> {
    const head = await this.options.audit.start();
    if (head.seq > 0) this.options.send.auditHead(head);
  }

  stop(): void {
    this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** One policy step; returns what the command answers right away. */
  private async step(input: SharePolicyInput): Promise<unknown> {
    const { state, effects } = stepSharePolicy(this.state, input, this.options.clock.now());
    this.state = state;
    let reply: unknown = { ok: true };
    let refusal: CommandError | undefined;
    // Holds first, so that the audit record and the owner's notice say which clips are held, not which should be.
    const failedHolds = new Map<string, string>();
    for (const effect of effects) {
      if (effect.type === 'hold')
        for (const [clipId, why] of await this.hold(effect)) failedHolds.set(clipId, why);
    }
    if (failedHolds.size > 0) {
      const causes = [...failedHolds].map(([clipId, why]) => `${clipId} (${why})`);
      refusal = new CommandError(
        'hold-failed',
        `legal hold not set on ${failedHolds.size} clip(s): ${causes.join('; ')}`,
      );
    }
    const audit = effects.flatMap((e) =>
      e.type !== 'audit'
        ? []
        : [e.entry.type === 'legal-hold' ? withHoldOutcome(e.entry, failedHolds) : e.entry],
    );
    if (audit.length) {
      const records = await this.options.audit.appendAll(audit);
      const last = records.at(-1)!;
      this.options.send.auditHead({ seq: last.seq, hash: last.hash });
    }
    for (const effect of effects) {
      if (effect.type === 'acknowledge') {
        if (!refusal) reply = effect.data;
      } else if (effect.type === 'reject-request') refusal = new CommandError(effect.code, effect.message);
      else if (effect.type === 'reject-decision')
        refusal = new CommandError('unknown-request', effect.message);
      else if (effect.type === 'notify-owner') {
        this.options.send.ownerNotice({ kind: 'legal-hold', ...withHoldOutcome(effect.notice, failedHolds) });
      } else this.carryOut(effect);
    }
    this.schedule();
    if (refusal) throw refusal;
    return reply;
  }

  private carryOut(effect: ShareEffect): void {
    const { send } = this.options;
    switch (effect.type) {
      case 'respond':
        send.answer(effect.data, effect.transaction, effect.requester);
        break;
      case 'release': {
        const urls = effect.clips.map((clip) => this.link(clip.key, effect.expiresAt));
        send.answer(releaseAnswer(effect, urls), effect.transaction, effect.requester);
        break;
      }
      case 'prompt-owner':
        send.ownerConsent({ kind: 'consent-prompt', ...effect.prompt });
        break;
      case 'withdraw-prompt':
        send.ownerNotice({ kind: 'prompt-withdrawn', requestId: effect.requestId, reason: effect.reason });
        break;
      default:
        break;
    }
  }

  /** Sets a legal hold on each clip; returns the clips it could not hold, with the cause. */
  private async hold(effect: Extract<ShareEffect, { type: 'hold' }>): Promise<Map<string, string>> {
    const failed = new Map<string, string>();
    const { bucket, logger } = this.options;
    if (!bucket) return failed;
    for (const clip of effect.clips) {
      await setLegalHold(bucket, clip.clipId, true, {
        deviceId: this.options.deviceId,
        spool: this.options.queue,
      }).catch((error: Error) => {
        logger.error({ clipId: clip.clipId, err: error.message }, 'legal hold failed');
        failed.set(clip.clipId, error.message);
      });
    }
    return failed;
  }

  private link(key: string, expiresAt: number): string {
    const { links } = this.options;
    if (!links) throw new Error('a device without stored clips has nothing to link');
    // Without a console the requester gets the path, to open on the console once it runs.
    return links.url(key, expiresAt) ?? links.path(key, expiresAt);
  }

  private schedule(): void {
    const { clock } = this.options;
    clock.clearTimer(this.timer);
    this.timer = undefined;
    const due = nextShareDeadline(this.state);
    if (due === undefined) return;
    this.timer = clock.setTimeout(
      () => {
        this.timer = undefined;
        this.steps
          .run(() => this.step({ type: 'tick' }))
          .catch((error: Error) =>
            this.options.logger.error({ err: error.message }, 'share deadline failed'),
          );
      },
      Math.max(0, due - clock.now()),
    );
  }

  /** The device's clips in the bucket, with their times. */
  private async clips(): Promise<ClipRef[]> {
    if (!this.options.bucket) return [];
    const stored = await listStoredClips(this.options.bucket, this.options.deviceId);
    return stored
      .map((clip) => ({
        clipId: clip.clipId,
        key: clip.key,
        startedAt: Date.parse(clip.startedAt),
        endedAt: Date.parse(clip.endedAt),
        encrypted: clip.head.metadata[CLIP_META.encrypted] === 'true',
      }))
      .filter((clip) => Number.isFinite(clip.startedAt) && Number.isFinite(clip.endedAt));
  }
}

/** What a share desk publishes, over a device's MQTT link (looked up when sending: it may start after the desk). */
export function shareDeskSends(
  link: () => Pick<DeviceLink, 'publishEvent' | 'publishRetained'> | undefined,
  topics: DeviceTopics,
): ShareDeskOptions['send'] {
  const event = (topic: string, payload: unknown) =>
    link()?.publishEvent({ topic, payload: JSON.stringify(payload), qos: 1, retain: false });
  return {
    answer: (data, transaction, requester) =>
      event(topics.requesterResponse(requester, 'share'), okResponse(data, transaction)),
    ownerConsent: (prompt) => event(topics.ownerConsent, prompt),
    ownerNotice: (notice) => event(topics.ownerNotice, notice),
    auditHead: (head) => link()?.publishRetained(topics.ownerAuditHead, JSON.stringify(head)),
  };
}

/** A legal-hold record or notice as it happened: the clips held, and those whose hold failed. */
function withHoldOutcome<T extends { clipIds: string[] }>(entry: T, failed: ReadonlyMap<string, string>): T {
  if (failed.size === 0) return entry;
  return {
    ...entry,
    clipIds: entry.clipIds.filter((clipId) => !failed.has(clipId)),
    failedClipIds: entry.clipIds.filter((clipId) => failed.has(clipId)),
  };
}
