import { EVENT_SCHEMA_VERSION } from './schemas.js';

export interface Envelope {
  v: typeof EVENT_SCHEMA_VERSION;
  id: string;
  seq: number;
  deviceId: string;
  at: string;
}

/** Event ids are derived from device and seq, so they are unique across restarts and identical under replay. */
export function envelope(deviceId: string, seq: number, atMs: number): Envelope {
  return {
    v: EVENT_SCHEMA_VERSION,
    id: `${deviceId}-${seq.toString(36).padStart(6, '0')}`,
    seq,
    deviceId,
    at: iso(atMs),
  };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
