/**
 * One doorbell for the chaos loop, in its own process so it can be killed with SIGKILL: started from a JSON argument,
 * it prints "ready" once it answers commands and stops cleanly on SIGTERM.
 */
import { Agent } from '../../src/agent/agent.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import { createLogger } from '../../src/log/logger.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';

interface ChaosDeviceOptions {
  deviceId: string;
  brokerUrl: string;
  /** Run the embedded broker (with its on-disk sessions) on this port instead of connecting to brokerUrl. */
  embeddedPort?: number;
  dataDir: string;
  bucket: string;
  video: string;
  seed: number;
  /** Off for the last run, so that it settles what the crashes left without new triggers of its own. */
  motion: boolean;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ChaosDeviceOptions;
const loaded = await loadProfile('wired-1080p');
if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
const profile = DeviceProfileSchema.parse({
  ...loaded.value.profile,
  button: { debounceMs: 0, chimeWindowMs: 0 },
  recording: { preRollMs: 1000, postRollMs: 1000, maxClipMs: 8000 },
  motion: { ...loaded.value.profile.motion, enabled: options.motion },
});
const agent = new Agent({
  deviceId: options.deviceId,
  profile: { ...loaded.value, profile },
  broker: options.embeddedPort
    ? { kind: 'embedded', host: '127.0.0.1', port: options.embeddedPort }
    : {
        kind: 'external',
        connection: BrokerConnectionSchema.parse({ url: options.brokerUrl, reconnectPeriodMs: 200 }),
      },
  dataDir: options.dataDir,
  bucket: options.bucket,
  video: options.video,
  logger: createLogger({
    deviceId: options.deviceId,
    pretty: false,
    level: process.env['CHAOS_VERBOSE'] ? 'info' : 'warn',
  }),
  bootMs: 0,
  seed: options.seed,
  discovery: { enabled: false },
});
await agent.start();
const waitFor = async (check: () => boolean) => {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
};
await waitFor(() => agent.acceptingCommands);
process.stdout.write('ready\n');
await waitFor(() => agent.cameraFeed?.live === true);
process.stdout.write('camera\n');
process.once('SIGTERM', () => {
  void agent.settled().then(async () => {
    await agent.stop();
    process.stdout.write('stopped\n');
    process.exit(0);
  });
});
