import type { Readable } from 'node:stream';
import type { DeviceEvent, DeviceState } from '../events/schemas.js';

/** What a release link opens: the object (an encrypted envelope when `encrypted`), or why not. */
export type SharedLinkResult =
  | { stream: Readable; bytes: number; encrypted: boolean }
  | { status: number; message: string };

/** A clip as the console lists it. */
export interface ConsoleClip {
  clipId: string;
  trigger: 'ding' | 'motion' | 'manual';
  startedAt: string;
  endedAt: string;
  bytes: number;
  key: string;
  retainUntil: string;
  legalHold: boolean;
  encrypted: boolean;
}

/** One live-view frame: a JPEG already annotated (motion box, privacy zones) by the agent. */
export interface LiveFrame {
  jpeg: Buffer;
  at: string;
}

/**
 * What the local web console needs from a running doorbell. The agent implements it; the console
 * server (src/ui/server.ts) only talks to this interface, so it is tested with a fake.
 */
export interface ConsoleBackend {
  deviceId(): string;
  state(): DeviceState;
  press(): { rang: boolean; reason?: string };
  setSensitivity(sensitivity: 'low' | 'medium' | 'high'): void;
  setMotionEnabled(enabled: boolean): void;
  /** Every DeviceEvent as it happens; returns an unsubscribe function. */
  onEvent(listener: (event: DeviceEvent) => void): () => void;
  /** Live frames at the console's rate; returns an unsubscribe function. */
  onFrame(listener: (frame: LiveFrame) => void): () => void;
  clips(): Promise<ConsoleClip[]>;
  /** The clip's MP4 bytes (decrypted playback is out of scope: encrypted clips are listed, not played). */
  openClip(clipId: string): Promise<{ stream: Readable; bytes: number } | undefined>;
  /**
   * A release link from a share request (`/shared/<key>?expires=…&sig=…`): the requester has no console token, the
   * signature is the permission. Absent when the device does not share.
   */
  openShared?(pathAndQuery: string): Promise<SharedLinkResult>;
  /** Current time from the agent's clock, for retention countdowns. */
  now(): number;
}
