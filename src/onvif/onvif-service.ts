/**
 * The `onvif` capability: the device as a standard IP camera — WS-Discovery, and the device, media and events
 * services on one HTTP port — fed by the device core's bus and the agent's stream URLs. Constructor does no I/O;
 * start() and stop() are idempotent.
 */
import type { Clock } from '../clock/clock.js';
import type { DeviceProfile } from '../config/profile.js';
import type { EventBus } from '../events/bus.js';
import type { DeviceState } from '../events/schemas.js';
import type { Logger } from '../log/logger.js';
import { deviceStreamSpecs } from '../stream/device-streams.js';
import { hostForUrl } from '../ui/access.js';
import { DiscoveryResponder, type DiscoverySettings } from './discovery-responder.js';
import { OnvifEvents } from './event-service.js';
import { endpointReferenceOf, scopesOf } from './identity.js';
import { type OnvifServer, startOnvifServer } from './server.js';
import { type OnvifDeviceInfo, SERVICE_PATHS } from './service-context.js';
import type { OnvifCredentials } from './ws-security.js';

export interface OnvifSettings {
  /** Loopback by default; anything else needs credentials (checked by the CLI, as for RTSP). */
  host: string;
  /** HTTP port of the services; 0 picks a free one. */
  port: number;
  credentials?: OnvifCredentials | undefined;
  /** WS-Discovery: port 3702 unless given (0 picks a free one); false: no discovery, the services only. */
  discovery?: Omit<DiscoverySettings, 'host'> | false;
}

export interface OnvifServiceOptions {
  deviceId: string;
  profile: () => DeviceProfile;
  settings: OnvifSettings;
  bus: EventBus;
  state: () => DeviceState;
  clock: Clock;
  logger: Logger;
}

export class OnvifService {
  private server: OnvifServer | undefined;
  private discovery: DiscoveryResponder | undefined;
  private events: OnvifEvents | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly options: OnvifServiceOptions) {}

  /** The HTTP port of the services, once started. */
  get port(): number | undefined {
    return this.server?.port;
  }

  get discoveryPort(): number | undefined {
    return this.discovery?.port;
  }

  /** Live pull-point subscriptions. */
  get subscriptions(): number {
    return this.events?.subscriptions ?? 0;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const { options } = this;
    const { settings } = options;
    const logger = options.logger.child({ capability: 'onvif' });
    const state = options.state();
    const events = new OnvifEvents(options.clock, {
      motion: state.motion,
      visitor: state.status === 'ringing',
    });
    this.events = events;
    events.start();
    this.unsubscribe = options.bus.subscribe((event) => events.onDeviceEvent(event));
    const endpoint = endpointReferenceOf(options.deviceId);
    const device = (): OnvifDeviceInfo => {
      const profile = options.profile();
      return {
        deviceId: options.deviceId,
        manufacturer: profile.manufacturer,
        model: profile.model,
        firmwareVersion: profile.firmwareVersion,
      };
    };
    this.server = await startOnvifServer({
      host: settings.host,
      port: settings.port,
      credentials: settings.credentials,
      clock: options.clock,
      device: device(),
      endpoint,
      streams: () => deviceStreamSpecs(options.profile()),
      urls: () => options.state().streams,
      events,
      logger,
    });
    const port = this.server.port;
    if (settings.discovery !== false) {
      this.discovery = new DiscoveryResponder({
        settings: { host: settings.host, port: 3702, ...settings.discovery },
        endpoint,
        scopes: scopesOf(device()),
        xaddrFor: (local) => `http://${hostForUrl(local, port)}${SERVICE_PATHS.device}`,
        clock: options.clock,
        logger,
      });
      await this.discovery.start();
    }
    logger.info(
      { port, discoveryPort: this.discovery?.port, auth: settings.credentials !== undefined },
      'ONVIF services up',
    );
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.discovery?.stop();
    this.discovery = undefined;
    this.events?.close();
    await this.server?.stop();
    this.server = undefined;
  }
}
