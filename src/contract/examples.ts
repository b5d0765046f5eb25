/** Documentation examples for every topic and command: one place, checked against their schemas in tests. */
import { DeviceProfileSchema } from '../config/profile.js';
import type { CommandName } from './commands.js';
import { namespaceRequiredMessage } from './errors.js';

export const AT = '2025-06-01T18:04:05.123Z';
export const envelope = (seq: number) => ({
  v: 1,
  id: `front-door-${seq.toString(36).padStart(6, '0')}`,
  seq,
  deviceId: 'front-door',
  at: AT,
});

/** A valid request body per command (documentation examples; the fuzz test starts from them too). */
export const REQUEST_EXAMPLES: Record<CommandName, Record<string, unknown>> = {
  press: { source: 'homeassistant', transaction: 'tx-1' },
  state: { transaction: 7 },
  snapshot: { transaction: 'snap-1' },
  motion: { enabled: false, transaction: 'tx-2' },
  sensitivity: { sensitivity: 'high' },
  reboot: {},
  answer: { transaction: 'door-1' },
  'config-get': {},
  'config-set': { patch: { retentionDays: 30 }, transaction: 'cfg-1' },
  share: {
    requestId: 'req-2025-17',
    reason: 'bike stolen from the porch',
    window: { from: '2025-06-01T17:00:00Z', to: '2025-06-01T19:00:00Z' },
    transaction: 'share-1',
  },
  'legal-demand': {
    requestId: 'ld-77',
    reason: 'preservation request',
    demandRef: 'PR-2025-0042',
    window: { from: '2025-06-01T17:00:00Z', to: '2025-06-01T19:00:00Z' },
  },
  'share-decision': { requestId: 'req-2025-17', decision: 'decline' },
  'share-policy': { policy: 'ask' },
};

export const STATE_EXAMPLE = {
  v: 1,
  deviceId: 'front-door',
  at: AT,
  status: 'idle',
  model: 'VDB-200 Wired Pro',
  manufacturer: 'Virtual Doorbell Co.',
  firmware: '2.4.1',
  power: 'wired',
  battery: null,
  rssi: -57,
  uptimeS: 3600,
  motionEnabled: true,
  motion: false,
  sensitivity: 'medium',
  lastDingAt: AT,
  dings: 3,
  suppressedPresses: 1,
  queues: { outbox: 0, uploads: 0 },
  healthy: true,
  problems: [],
  retention: 'sweeper',
  streams: {
    rtsp: { main: 'rtsp://127.0.0.1:8554/front-door', sub: 'rtsp://127.0.0.1:8554/front-door/sub' },
    mjpeg: {
      main: 'http://127.0.0.1:8080/front-door/mjpeg',
      sub: 'http://127.0.0.1:8080/front-door/sub/mjpeg',
    },
    hls: {
      main: 'http://127.0.0.1:8080/front-door/hls/index.m3u8',
      sub: 'http://127.0.0.1:8080/front-door/sub/hls/index.m3u8',
    },
    snapshot: 'http://127.0.0.1:8080/front-door/snapshot.jpg',
  },
};

const PROFILE_EXAMPLE = DeviceProfileSchema.parse({
  model: 'VDB-200 Wired Pro',
  manufacturer: 'Virtual Doorbell Co.',
  firmwareVersion: '2.4.1',
  resolution: { width: 1920, height: 1080 },
  fps: 15,
  power: { source: 'wired' },
});

function outsideNamespace(command: CommandName, transaction?: string): Record<string, unknown> {
  return {
    status: 'error',
    error: { code: 'requester-namespace-required', message: namespaceRequiredMessage(command) },
    ...(transaction === undefined ? {} : { transaction }),
  };
}

/** A valid answer per command (documentation examples, checked against their schema in tests). */
export const RESPONSE_EXAMPLES: Record<CommandName, Record<string, unknown>> = {
  press: { status: 'ok', data: { rang: true, seq: 42 }, transaction: 'tx-1' },
  state: { status: 'ok', data: STATE_EXAMPLE, transaction: 7 },
  snapshot: { status: 'ok', data: { bytes: 48213, at: AT }, transaction: 'snap-1' },
  motion: { status: 'ok', data: { motionEnabled: false }, transaction: 'tx-2' },
  sensitivity: {
    status: 'error',
    error: {
      code: 'invalid-arguments',
      message: 'sensitivity: Invalid option: expected one of "low"|"medium"|"high"',
    },
  },
  reboot: { status: 'ok', data: { status: 'rebooting' } },
  answer: { status: 'ok', data: { answered: true, dingIds: ['front-door-000016'] }, transaction: 'door-1' },
  'config-get': { status: 'ok', data: PROFILE_EXAMPLE },
  'config-set': {
    status: 'error',
    error: { code: 'read-only', message: 'model cannot be changed on a running device' },
    transaction: 'cfg-1',
  },
  // Footage requests are answered here only with this refusal; their real answers go to requesterResponse.
  share: outsideNamespace('share', 'share-1'),
  'legal-demand': outsideNamespace('legal-demand'),
  'share-decision': { status: 'ok', data: { ok: true } },
  'share-policy': {
    status: 'ok',
    data: { policy: 'ask', optedOut: false, consentTimeoutMs: 900000, linkTtlMs: 86400000 },
  },
};
