import { join } from 'node:path';
import type { Clock } from '../clock/clock.js';
import type { DeviceProfile } from '../config/profile.js';
import { EventBus } from '../events/bus.js';
import type { Logger } from '../log/logger.js';
import type { CommandTable } from '../mqtt/requests.js';
import { PersistentCounter } from '../persist/counter.js';
import { Emitter } from '../util/emitter.js';
import { type DeviceCapabilities, deviceCommands } from './commands.js';
import { Doorbell } from './doorbell.js';
import { ProfileStore } from './profile-store.js';

export interface DeviceCoreOptions {
  deviceId: string;
  /** The bundled profile; the owner's changes (config-set) are applied over it. */
  profile: DeviceProfile;
  clock: Clock;
  logger: Logger;
  /** Sequence counter and the owner's config changes live here and survive restarts; in memory without it. */
  stateDir?: string | undefined;
  bootMs?: number | undefined;
  /** Seeds the simulated radio noise (default: from the device id). */
  seed?: number | undefined;
  /** Called before an event takes a sequence number; throws to refuse the event (e.g. nowhere to keep it). */
  beforeSeq?: () => void;
}

export type ProfileListener = (profile: DeviceProfile) => void;

/**
 * What every doorbell is built from, the agent's and each fleet device alike: the event sequence, the event bus, the
 * Doorbell state machine, the effective profile and the command table. One contract: a command is answered by this
 * code whoever hosts the device.
 */
export class DeviceCore {
  readonly bus: EventBus;
  readonly doorbell: Doorbell;
  private readonly profiles: ProfileStore;
  private readonly profileListeners: Emitter<[DeviceProfile]>;
  private readonly closeSeq: () => void;
  private readonly rewindSeq: (lastUsed: number) => void;

  constructor(options: DeviceCoreOptions) {
    const { logger, stateDir } = options;
    this.bus = new EventBus((error, event) =>
      logger.error({ err: (error as Error).message, kind: event.kind }, 'event listener failed'),
    );
    this.profileListeners = new Emitter<[DeviceProfile]>((error) =>
      logger.error({ err: (error as Error).message }, 'a profile listener failed'),
    );
    this.profiles = new ProfileStore(
      options.profile,
      stateDir === undefined ? undefined : join(stateDir, 'profile.overrides.json'),
    );
    let takeSeq: () => number;
    if (stateDir === undefined) {
      let seq = 0;
      takeSeq = () => ++seq;
      this.rewindSeq = (lastUsed) => {
        seq = Math.min(seq, lastUsed);
      };
      this.closeSeq = () => {};
    } else {
      const seq = new PersistentCounter(join(stateDir, 'seq'));
      takeSeq = () => seq.next();
      this.rewindSeq = (lastUsed) => seq.giveBackAfter(lastUsed);
      this.closeSeq = () => seq.close();
    }
    const { beforeSeq } = options;
    const nextSeq = beforeSeq
      ? () => {
          beforeSeq();
          return takeSeq();
        }
      : takeSeq;
    this.doorbell = new Doorbell({
      deviceId: options.deviceId,
      profile: this.profiles.profile,
      clock: options.clock,
      bus: this.bus,
      nextSeq,
      ...(options.bootMs === undefined ? {} : { bootMs: options.bootMs }),
      ...(options.seed === undefined ? {} : { seed: options.seed }),
    });
  }

  /** Numbers after `lastUsed` were never used (their events never reached the outbox): the next event takes them. */
  resumeSeqAfter(lastUsed: number): void {
    this.rewindSeq(lastUsed);
  }

  /** The effective profile: bundled plus the owner's changes. */
  get profile(): DeviceProfile {
    return this.profiles.profile;
  }

  /** A capability that runs on the profile (camera, sharing) hears every change and applies it itself. */
  onProfile(listener: ProfileListener): () => void {
    return this.profileListeners.on(listener);
  }

  /** Validates and persists a partial profile, then every capability and the doorbell apply it. */
  reconfigure(patch: Record<string, unknown>): DeviceProfile {
    const profile = this.profiles.apply(patch);
    this.profileListeners.emit(profile);
    this.doorbell.reconfigure(profile);
    return profile;
  }

  /** The request/response commands, answered the same on every device; a missing capability answers an error. */
  commands(capabilities: DeviceCapabilities = {}): CommandTable {
    return deviceCommands({
      doorbell: this.doorbell,
      config: { get: () => this.profile, set: (patch) => this.reconfigure(patch) },
      ...capabilities,
    });
  }

  close(): void {
    this.doorbell.stop();
    this.closeSeq();
  }
}
