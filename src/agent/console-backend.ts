import { findClipObjects } from '../retention/legal-hold.js';
import { CLIP_META } from '../storage/clip-metadata.js';
import { parseClipKey } from '../storage/keys.js';
import { listStoredClips } from '../storage/stored-clips.js';
import type { ConsoleBackend, ConsoleClip, LiveFrame } from '../ui/backend.js';
import type { Agent } from './agent.js';
import { LiveView } from './live-view.js';

/** The running agent seen through the console's interface. */
export function consoleBackend(agent: Agent): ConsoleBackend {
  const frameListeners = new Set<(frame: LiveFrame) => void>();
  const live = new LiveView({
    privacyZones: agent.profile.privacy.zones.map((zone) => zone.polygon),
    onJpeg: (jpeg) => {
      const frame = { jpeg, at: new Date(agent.clock.now()).toISOString() };
      for (const listener of frameListeners) listener(frame);
    },
  });
  agent.onProfile((profile) => live.setPrivacyZones(profile.privacy.zones.map((zone) => zone.polygon)));
  let stopFrames: (() => void) | undefined;
  agent.bus.subscribe((event) => {
    if (event.kind === 'motion')
      live.setMotionBox(event.payload.type === 'end' ? undefined : event.payload.box);
  });

  return {
    deviceId: () => agent.doorbell.deviceId,
    state: () => agent.state(),
    press: () => {
      const outcome = agent.press('ui');
      return outcome.accepted ? { rang: true } : { rang: false, reason: outcome.reason };
    },
    setSensitivity: (sensitivity) => {
      agent.reconfigure({ motion: { sensitivity } });
    },
    setMotionEnabled: (enabled) => {
      agent.reconfigure({ motion: { enabled } });
    },
    onEvent: (listener) => agent.bus.subscribe(listener),
    onFrame: (listener) => {
      frameListeners.add(listener);
      stopFrames ??= agent.onFrame((frame) => live.push(frame));
      return () => {
        frameListeners.delete(listener);
        if (frameListeners.size === 0) {
          stopFrames?.();
          stopFrames = undefined;
        }
      };
    },
    clips: () => listClips(agent),
    openClip: async (clipId) => {
      // Finds the one clip by its key; reading every clip's metadata (listClips) is for the list.
      const bucket = agent.storageBucket;
      if (!bucket) return undefined;
      const keys = await findClipObjects(bucket, clipId, agent.doorbell.deviceId);
      const key = keys.find((k) => parseClipKey(k)?.kind === 'clip');
      const head = key ? await bucket.head(key) : undefined;
      if (!key || !head) return undefined;
      return { stream: await bucket.get(key), bytes: head.bytes };
    },
    openShared: (pathAndQuery) => agent.openShared(pathAndQuery),
    now: () => agent.clock.now(),
  };
}

async function listClips(agent: Agent): Promise<ConsoleClip[]> {
  const bucket = agent.storageBucket;
  if (!bucket) return [];
  const stored = await listStoredClips(bucket, agent.doorbell.deviceId);
  return stored
    .map(({ clipId, key, head, startedAt, endedAt }) => ({
      clipId,
      trigger: (head.metadata[CLIP_META.trigger] ?? 'motion') as ConsoleClip['trigger'],
      startedAt,
      endedAt,
      bytes: head.bytes,
      key,
      retainUntil: head.metadata[CLIP_META.retainUntil] ?? '',
      legalHold: head.metadata[CLIP_META.legalHold] === 'true',
      encrypted: head.metadata[CLIP_META.encrypted] === 'true',
    }))
    .sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}
