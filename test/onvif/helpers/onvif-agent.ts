import type { Agent } from '../../../src/agent/agent.js';
import type { DeviceProfileInput } from '../../../src/config/profile.js';
import { EmbeddedBroker } from '../../../src/mqtt/broker.js';
import type { OnvifSettings } from '../../../src/onvif/onvif-service.js';
import { startAgent } from '../../helpers/agent.js';

export interface OnvifAgent {
  agent: Agent;
  /** The ONVIF HTTP port and the WS-Discovery port. */
  port: number;
  discoveryPort: number;
  stop(): Promise<void>;
}

/**
 * An agent on its own embedded broker that is an ONVIF camera on loopback (free ports). Hello and Bye go to
 * `announceTo`, by default a local port nobody listens on, not the multicast group.
 */
export async function startOnvifAgent(options: {
  deviceId: string;
  credentials: NonNullable<OnvifSettings['credentials']>;
  profile?: Partial<DeviceProfileInput>;
  video?: string;
  rtsp?: boolean;
  announceTo?: { address: string; port: number };
}): Promise<OnvifAgent> {
  const broker = new EmbeddedBroker({ port: 0 });
  await broker.start();
  const agent = await startAgent(broker.url, options.deviceId, options.profile ?? {}, {
    ...(options.video ? { video: options.video } : {}),
    ...(options.rtsp ? { rtsp: { host: '127.0.0.1', port: 0 } } : {}),
    onvif: {
      host: '127.0.0.1',
      port: 0,
      credentials: options.credentials,
      discovery: { port: 0, announceTo: options.announceTo ?? { address: '127.0.0.1', port: 9 } },
    },
  });
  return {
    agent,
    port: agent.onvifService!.port!,
    discoveryPort: agent.onvifService!.discoveryPort!,
    async stop() {
      await agent.stop();
      await broker.stop();
    },
  };
}
