/**
 * ONVIF pull-point subscriptions: each keeps the notifications published since it was created (its current state
 * first), hands them out on PullMessages — at once if some are waiting, else as soon as one arrives or the pull's
 * timeout passes — and expires at its termination time unless renewed. Time comes from the injected Clock.
 */
import { randomUUID } from 'node:crypto';
import type { Clock, TimerHandle } from '../clock/clock.js';
import type { OnvifNotification } from './notifications.js';
import { SoapFault, senderFault } from './soap.js';

export interface PullPointLimits {
  /** Subscriptions alive at once (default 16); one more is refused. */
  maxSubscriptions: number;
  /** Notifications kept per subscription nobody pulls (default 256); the oldest go first. */
  maxQueued: number;
  /** The longest termination time granted (default 1 h); longer requests get this. */
  maxTerminationMs: number;
  /** The longest a PullMessages waits (default 5 min). */
  maxPullWaitMs: number;
}

export const DEFAULT_PULL_POINT_LIMITS: PullPointLimits = {
  maxSubscriptions: 16,
  maxQueued: 256,
  maxTerminationMs: 3_600_000,
  maxPullWaitMs: 300_000,
};

interface Waiter {
  limit: number;
  resolve: (notifications: OnvifNotification[]) => void;
  timer: TimerHandle;
}

interface Subscription {
  id: string;
  expiresAt: number;
  queue: OnvifNotification[];
  waiter: Waiter | undefined;
  accepts: (notification: OnvifNotification) => boolean;
}

export interface SubscriptionTimes {
  id: string;
  currentTime: number;
  terminationTime: number;
}

export function resourceUnknown(id: string): SoapFault {
  return senderFault('wsrf-rw:ResourceUnknownFault', `no subscription ${id} (unsubscribed or expired)`);
}

export class PullPoints {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly limits: PullPointLimits;
  private sweeper: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    limits: Partial<PullPointLimits> = {},
  ) {
    this.limits = { ...DEFAULT_PULL_POINT_LIMITS, ...limits };
  }

  get size(): number {
    return this.subscriptions.size;
  }

  /** Expired subscriptions are dropped as they are met, and every 10 s, so one nobody pulls frees its memory. */
  start(): void {
    this.sweeper ??= this.clock.setInterval(() => this.sweep(), 10_000);
  }

  /** `accepts`: the subscription's filter (default: every notification). */
  create(
    terminationMs: number,
    initial: readonly OnvifNotification[],
    accepts: (notification: OnvifNotification) => boolean = () => true,
  ): SubscriptionTimes {
    this.sweep();
    if (this.subscriptions.size >= this.limits.maxSubscriptions)
      throw new SoapFault(
        'Receiver',
        'ter:Action',
        `the device takes ${this.limits.maxSubscriptions} subscriptions at once; unsubscribe one first`,
      );
    const now = this.clock.now();
    const subscription: Subscription = {
      id: randomUUID(),
      expiresAt: now + this.termination(terminationMs),
      queue: initial.filter(accepts),
      waiter: undefined,
      accepts,
    };
    this.subscriptions.set(subscription.id, subscription);
    return { id: subscription.id, currentTime: now, terminationTime: subscription.expiresAt };
  }

  /** Resolves with up to `limit` notifications: those waiting, or the first to arrive within `waitMs`, or none. */
  pull(id: string, waitMs: number, limit: number): Promise<OnvifNotification[]> {
    const subscription = this.live(id);
    if (subscription.queue.length > 0) return Promise.resolve(subscription.queue.splice(0, limit));
    // A second pull on the same subscription takes over: the first is answered with nothing.
    this.answer(subscription, []);
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(
        () => this.answer(subscription, []),
        Math.min(Math.max(0, waitMs), this.limits.maxPullWaitMs),
      );
      subscription.waiter = { limit, resolve, timer };
    });
  }

  /** Gives up a pending pull (its client went away) without touching the queue. */
  cancelPull(id: string): void {
    const subscription = this.subscriptions.get(id);
    if (subscription) this.answer(subscription, []);
  }

  times(id: string): SubscriptionTimes {
    const subscription = this.live(id);
    return { id, currentTime: this.clock.now(), terminationTime: subscription.expiresAt };
  }

  renew(id: string, terminationMs: number): SubscriptionTimes {
    const subscription = this.live(id);
    subscription.expiresAt = this.clock.now() + this.termination(terminationMs);
    return this.times(id);
  }

  unsubscribe(id: string): void {
    const subscription = this.live(id);
    this.drop(subscription);
  }

  publish(notifications: readonly OnvifNotification[]): void {
    if (notifications.length === 0) return;
    this.sweep();
    for (const subscription of this.subscriptions.values()) this.deliver(subscription, notifications);
  }

  /** Notifications for one subscription only (SetSynchronizationPoint's current state). */
  publishTo(id: string, notifications: readonly OnvifNotification[]): void {
    this.deliver(this.live(id), notifications);
  }

  /** Ends every subscription; pending pulls are answered with nothing. */
  close(): void {
    this.clock.clearTimer(this.sweeper);
    this.sweeper = undefined;
    for (const subscription of [...this.subscriptions.values()]) this.drop(subscription);
  }

  private termination(requestedMs: number): number {
    return Math.min(Math.max(1000, requestedMs), this.limits.maxTerminationMs);
  }

  private live(id: string): Subscription {
    const subscription = this.subscriptions.get(id);
    if (!subscription) throw resourceUnknown(id);
    if (subscription.expiresAt <= this.clock.now()) {
      this.drop(subscription);
      throw resourceUnknown(id);
    }
    return subscription;
  }

  private deliver(subscription: Subscription, notifications: readonly OnvifNotification[]): void {
    subscription.queue.push(...notifications.filter(subscription.accepts));
    const excess = subscription.queue.length - this.limits.maxQueued;
    if (excess > 0) subscription.queue.splice(0, excess);
    const waiter = subscription.waiter;
    if (waiter && subscription.queue.length > 0)
      this.answer(subscription, subscription.queue.splice(0, waiter.limit));
  }

  private answer(subscription: Subscription, notifications: OnvifNotification[]): void {
    const waiter = subscription.waiter;
    if (!waiter) return;
    subscription.waiter = undefined;
    this.clock.clearTimer(waiter.timer);
    waiter.resolve(notifications);
  }

  private drop(subscription: Subscription): void {
    this.answer(subscription, []);
    this.subscriptions.delete(subscription.id);
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const subscription of [...this.subscriptions.values()])
      if (subscription.expiresAt <= now) this.drop(subscription);
  }
}
