import { join } from 'node:path';
import { expect, vi } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import type { RtspSettings } from '../../src/agent/live-streams.js';
import { loadProfile } from '../../src/config/load-profile.js';
import type { DeviceProfileInput } from '../../src/config/profile.js';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import { type Logger, silentLogger } from '../../src/log/logger.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import type { OnvifSettings } from '../../src/onvif/onvif-service.js';
import { tempDir } from './mqtt.js';

/** An in-process agent on an external broker URL, with profile overrides for tests. */
export async function startAgent(
  url: string,
  deviceId: string,
  overrides: Partial<DeviceProfileInput> = {},
  extra: {
    dataDir?: string;
    protocolVersion?: 4 | 5;
    video?: string;
    /** Broker credentials (a device user). */
    username?: string;
    password?: string;
    /** Boot time (default 50 ms); with waitForBoot false, start() returns while the device still boots. */
    bootMs?: number;
    waitForBoot?: boolean;
    logger?: Logger;
    /** Serve the camera over RTSP too. */
    rtsp?: RtspSettings;
    /** Be an ONVIF camera too. */
    onvif?: OnvifSettings;
  } = {},
): Promise<Agent> {
  const loaded = await loadProfile('wired-1080p');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const { video: _video, ...base } = loaded.value.profile;
  const profile = DeviceProfileSchema.parse({ ...base, ...overrides });
  const dataDir = extra.dataDir ?? tempDir();
  const agent = new Agent({
    deviceId,
    profile: { ...loaded.value, profile },
    broker: {
      kind: 'external',
      connection: BrokerConnectionSchema.parse({
        url,
        protocolVersion: extra.protocolVersion ?? 4,
        reconnectPeriodMs: 200,
        ...(extra.username === undefined ? {} : { username: extra.username, password: extra.password }),
      }),
    },
    dataDir,
    bucket: join(dataDir, 'bucket'),
    logger: extra.logger ?? silentLogger(),
    bootMs: extra.bootMs ?? 50,
    ...(extra.video ? { video: extra.video } : {}),
    ...(extra.rtsp ? { rtsp: extra.rtsp } : {}),
    ...(extra.onvif ? { onvif: extra.onvif } : {}),
  });
  await agent.start();
  if (extra.waitForBoot === false) return agent;
  // vi.waitFor, not expect.poll: agents are also started in beforeAll hooks.
  await vi.waitFor(() => expect(agent.doorbell.currentStatus).not.toBe('booting'), {
    timeout: 10_000,
    interval: 10,
  });
  return agent;
}
