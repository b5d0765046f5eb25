import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Agent } from '../../agent/agent.js';
import { consoleBackend } from '../../agent/console-backend.js';
import { agentStreamRoutes, type RtspSettings } from '../../agent/live-streams.js';
import { createLogger, type Logger } from '../../log/logger.js';
import { BROKER_PERSISTENCE_KINDS } from '../../mqtt/broker.js';
import type { OnvifSettings } from '../../onvif/onvif-service.js';
import { makeDirectories } from '../../persist/durable-write.js';
import { describeFsError } from '../../persist/fs-errors.js';
import { generateConsoleToken, hostForUrl, isLoopbackHost, reachableHost } from '../../ui/access.js';
import { startConsoleServer } from '../../ui/server.js';
import { VideoError } from '../../video/ffmpeg/errors.js';
import { assertWholeVideo } from '../../video/ffmpeg/probe.js';
import type { CliIo } from '../io.js';
import { UserError, waitForSignal, writeLine } from '../io.js';
import { agentMetrics, metricsOptionSpec, serveMetrics, watchAgent } from '../metrics.js';
import {
  brokerChoiceFrom,
  brokerOptionSpec,
  brokerSecurityOptionSpec,
  dataDirFrom,
  dataDirOption,
  deviceIdFrom,
  deviceIdOption,
  listenOptionSpec,
  portFrom,
  profileFrom,
  profileOption,
} from '../options.js';
import { defineCommand } from '../spec.js';

export const command = defineCommand('start', {
  summary: 'run a virtual doorbell (embedded broker unless --broker is given)',
  synopsis: '[options]',
  options: {
    ...profileOption,
    ...deviceIdOption,
    ...listenOptionSpec,
    ...brokerOptionSpec,
    ...dataDirOption,
    video: {
      type: 'string',
      value: 'FILE|none',
      help: 'the camera: a video file played in a loop, or none (no motion, no clips, no camera)',
      env: 'DOORBELL_VIDEO',
    },
    bucket: {
      type: 'string',
      value: 'DIR|URL',
      help: 'where clips go: a folder, file://DIR or s3://NAME?endpoint=…&region=… (default DATA-DIR/bucket)',
      env: 'DOORBELL_BUCKET',
    },
    'retention-cron': {
      type: 'string',
      value: 'EXPR',
      help: 'when the retention sweep runs (cron, default hourly: 0 * * * *)',
    },
    'owner-key': { type: 'string', value: 'FILE', help: 'encrypt clips to this owner public key (PEM)' },
    ui: { type: 'boolean', help: 'serve the web console' },
    'ui-port': { type: 'string', value: 'N', help: 'port of the web console (default 8080)' },
    'ui-host': { type: 'string', value: 'ADDR', help: 'address of the web console (default 127.0.0.1)' },
    'ui-token': {
      type: 'string',
      value: 'TOKEN',
      help: 'token the web console asks for (generated when --ui-host is not loopback)',
    },
    'rtsp-port': {
      type: 'string',
      value: 'N',
      help: 'serve the camera over RTSP on this port (rtsp://HOST:N/ID and /ID/sub; npm start uses 8554)',
      env: 'DOORBELL_RTSP_PORT',
    },
    'rtsp-host': {
      type: 'string',
      value: 'ADDR',
      help: 'address of the RTSP server (default 127.0.0.1; any other needs --rtsp-credentials)',
      env: 'DOORBELL_RTSP_HOST',
    },
    'rtsp-credentials': {
      type: 'string',
      value: 'USER:PASS',
      help: 'RTSP digest credentials viewers must give',
      env: 'DOORBELL_RTSP_CREDENTIALS',
    },
    onvif: {
      type: 'boolean',
      help: 'be an ONVIF camera (Profile S): WS-Discovery and the device, media and events services; see docs/onvif.md',
      env: 'DOORBELL_ONVIF',
    },
    'onvif-port': {
      type: 'string',
      value: 'N',
      help: 'HTTP port of the ONVIF services (default 8000)',
      env: 'DOORBELL_ONVIF_PORT',
    },
    'onvif-host': {
      type: 'string',
      value: 'ADDR',
      help: 'address of the ONVIF services and discovery (default 127.0.0.1; any other needs --onvif-credentials)',
      env: 'DOORBELL_ONVIF_HOST',
    },
    'onvif-credentials': {
      type: 'string',
      value: 'USER:PASS',
      help: 'WS-UsernameToken (digest) credentials ONVIF clients must give',
      env: 'DOORBELL_ONVIF_CREDENTIALS',
    },
    'onvif-discovery-port': {
      type: 'string',
      value: 'N',
      help: 'UDP port of WS-Discovery (default 3702, the standard one)',
      env: 'DOORBELL_ONVIF_DISCOVERY_PORT',
    },
    ...brokerSecurityOptionSpec,
    'broker-persistence': {
      type: 'string',
      value: BROKER_PERSISTENCE_KINDS.join('|'),
      help:
        'where the embedded broker keeps sessions, queued QoS 1 messages and retained messages: disk (default, ' +
        'DATA-DIR/ID/broker, survives restarts) or memory',
      env: 'DOORBELL_BROKER_PERSISTENCE',
    },
    'discovery-prefix': {
      type: 'string',
      value: 'P',
      help: 'Home Assistant MQTT discovery prefix (default homeassistant)',
    },
    'no-discovery': { type: 'boolean', help: 'publish no Home Assistant discovery' },
    ...metricsOptionSpec,
  },
  notes:
    '--username, --password, --ca, --cert, --key, --insecure and --mqtt-version apply to --broker (the embedded\n' +
    'broker speaks 3.1.1 only); --auth and --tls-* secure the embedded broker.\n\n' +
    'Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not start, 2 bad arguments or files.',
  async run({ values }, io) {
    const deviceId = deviceIdFrom(values.id);
    const profile = await profileFrom(values.profile, io);
    const video = await videoFrom(values.video, io.cwd);
    const dataDir = dataDirFrom(values['data-dir'], io);
    try {
      makeDirectories(dataDir);
    } catch (error) {
      throw new UserError(
        `--data-dir ${JSON.stringify(dataDir)}: ${describeFsError(error, 'cannot create', dataDir)}`,
      );
    }
    const credentials = values.auth
      ? { sub: ' -u USER -P PASSWORD', press: ' --username USER --password PASSWORD' }
      : { sub: '', press: '' };
    const rtsp = rtspFrom(values);
    const onvif = onvifFrom(values, rtsp);
    const logger = createLogger({ deviceId });
    let running: Agent | undefined;
    const metrics = values['metrics-port'] === undefined ? undefined : agentMetrics(() => running);
    const agent = new Agent({
      deviceId,
      profile,
      broker: await brokerChoiceFrom(values, io),
      discovery: {
        enabled: !values['no-discovery'],
        ...(values['discovery-prefix'] ? { prefix: values['discovery-prefix'] } : {}),
      },
      dataDir,
      logger,
      cwd: io.cwd,
      ...video,
      bucket: values.bucket ?? join(dataDir, 'bucket'),
      ...optional('retentionCron', values['retention-cron']),
      ...optional('ownerPublicKey', values['owner-key']),
      ...(rtsp ? { rtsp } : {}),
      ...(onvif ? { onvif } : {}),
      ...(metrics ? { mqttObserver: metrics } : {}),
    });
    try {
      await agent.start();
    } catch (error) {
      await agent.stop();
      // A setting the user can fix keeps its exit code (2); anything else failed at run time (1).
      const exitCode = error instanceof UserError ? error.exitCode : 1;
      throw new UserError(`cannot start: ${(error as Error).message}`, exitCode);
    }
    running = agent;
    if (metrics) watchAgent(agent, metrics);
    const consoleServer = values.ui ? await startConsole(agent, values, logger) : undefined;
    agent.setLinkOrigin(consoleServer?.url);
    printWelcome(io, agent, deviceId, profile.name, credentials);
    if (consoleServer) writeLine(io.stdout, `  console:   ${consoleServer.openUrl}`);
    const streams = agent.state().streams;
    if (streams?.rtsp)
      writeLine(io.stdout, `  rtsp:      ${streams.rtsp.main}  (substream ${streams.rtsp.sub})`);
    if (streams?.mjpeg) writeLine(io.stdout, `  mjpeg:     ${streams.mjpeg.main}`);
    if (streams?.hls) writeLine(io.stdout, `  hls:       ${streams.hls.main}`);
    const onvifService = agent.onvifService;
    if (onvif && onvifService?.port !== undefined)
      writeLine(
        io.stdout,
        `  onvif:     http://${hostForUrl(reachableHost(onvif.host), onvifService.port)}/onvif/device_service` +
          `  (WS-Discovery on udp ${onvifService.discoveryPort})`,
      );
    const metricsServer = metrics ? await serveMetrics(values, metrics, io) : undefined;
    const stopKeys = io.stdin.isTTY ? ringOnEnter(io, agent) : () => {};
    await waitForSignal();
    stopKeys();
    writeLine(io.stdout, 'stopping: finishing the open clip, publishing offline…');
    await metricsServer?.stop();
    await consoleServer?.stop();
    await agent.stop();
    return 0;
  },
});

/** `credentials`: the flags a client needs on this broker (with --auth), as placeholders, never the secrets. */
function printWelcome(
  io: CliIo,
  agent: Agent,
  deviceId: string,
  profileName: string,
  credentials: { sub: string; press: string },
): void {
  const url = new URL(agent.brokerUrl);
  const host = url.hostname;
  const port = url.port || '1883';
  const idFlag = deviceId === 'front-door' ? '' : ` --id ${deviceId}`;
  const brokerFlag = port === '1883' && host === '127.0.0.1' ? '' : ` --broker mqtt://${host}:${port}`;
  writeLine(
    io.stdout,
    [
      `virtual doorbell "${deviceId}" (${profileName}) is up; broker ${agent.brokerUrl}`,
      `  watch it:  mosquitto_sub -h ${host} -p ${port}${credentials.sub} -t '${agent.topics.root.split('/')[0]}/#' -v`,
      `  clips:     ${agent.storageBucket?.describe() ?? 'no bucket'}`,
      `  ring it:   npx doorbell press${idFlag}${brokerFlag}${credentials.press}${io.stdin.isTTY ? '   (or press Enter here)' : ''}`,
      '  stop it:   Ctrl+C',
    ].join('\n'),
  );
}

function ringOnEnter(io: CliIo, agent: Agent): () => void {
  const lines = createInterface({ input: io.stdin });
  lines.on('line', () => {
    const outcome = agent.press('button');
    writeLine(io.stdout, outcome.accepted ? `ding (seq ${outcome.seq})` : `no ding: ${outcome.reason}`);
  });
  return () => lines.close();
}

/**
 * A --video file that is not there, or holds fewer frames than its header promises (truncated), is a usage error
 * (exit 2, as `doorbell motion` answers), found before anything starts.
 */
async function videoFrom(value: string | undefined, cwd: string): Promise<{ video?: string | null }> {
  if (value === undefined) return {};
  if (value === 'none') return { video: null };
  const file = resolve(cwd, value);
  if (!existsSync(file))
    throw new UserError(`--video ${JSON.stringify(value)}: no such file (give a video file, or none)`);
  try {
    await assertWholeVideo(file);
  } catch (error) {
    if (error instanceof VideoError)
      throw new UserError(`--video ${JSON.stringify(value)}: ${error.message}`, 2);
    throw error;
  }
  return { video: value };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: string });
}

async function startConsole(
  agent: Agent,
  values: { 'ui-port'?: string | undefined; 'ui-host'?: string | undefined; 'ui-token'?: string | undefined },
  logger: Logger,
) {
  const host = values['ui-host'] ?? '127.0.0.1';
  const token = values['ui-token'] ?? (isLoopbackHost(host) ? undefined : generateConsoleToken());
  try {
    return await startConsoleServer({
      backend: consoleBackend(agent),
      streams: agentStreamRoutes(agent, logger),
      host,
      port: portFrom(values['ui-port'], 8080, '--ui-port'),
      ...(token ? { token } : {}),
    });
  } catch (error) {
    await agent.stop();
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot start the console: ${(error as Error).message}`, 1);
  }
}

/**
 * --rtsp-port turns the RTSP server on. Off loopback it needs credentials, as the console needs its token: a
 * camera on the network is not left open to it.
 */
function rtspFrom(values: {
  'rtsp-port'?: string | undefined;
  'rtsp-host'?: string | undefined;
  'rtsp-credentials'?: string | undefined;
}): RtspSettings | undefined {
  const host = values['rtsp-host'] ?? '127.0.0.1';
  const raw = values['rtsp-credentials'];
  if (values['rtsp-port'] === undefined) {
    if (values['rtsp-host'] !== undefined || raw !== undefined)
      throw new UserError('--rtsp-host and --rtsp-credentials need --rtsp-port');
    return undefined;
  }
  const port = portFrom(values['rtsp-port'], 8554, '--rtsp-port');
  const credentials = credentialsFrom(raw, '--rtsp-credentials');
  refuseOpenService(host, credentials, '--rtsp-host', '--rtsp-credentials');
  return { host, port, ...(credentials ? { credentials } : {}) };
}

/** `USER:PASS` (both non-empty, no spaces) as credentials; undefined when not given. */
function credentialsFrom(
  raw: string | undefined,
  flag: string,
): { username: string; password: string } | undefined {
  if (raw === undefined) return undefined;
  const colon = raw.indexOf(':');
  if (colon < 1 || colon === raw.length - 1 || /[\s\0]/.test(raw))
    throw new UserError(`${flag} must be USER:PASS (both non-empty, no spaces)`);
  return { username: raw.slice(0, colon), password: raw.slice(colon + 1) };
}

/** A service reachable from other machines is not left open to them: it needs credentials. */
function refuseOpenService(
  host: string,
  credentials: unknown,
  hostFlag: string,
  credentialsFlag: string,
): void {
  if (credentials || isLoopbackHost(host)) return;
  throw new UserError(
    `${hostFlag} ${JSON.stringify(host)} is reachable from other machines: give ${credentialsFlag} USER:PASS ` +
      'or bind it to 127.0.0.1',
  );
}

/**
 * --onvif turns the ONVIF camera on. Off loopback it needs credentials like RTSP, and an RTSP server that the same
 * machines can reach: the stream URIs it hands out must open for them.
 */
function onvifFrom(
  values: {
    onvif?: boolean | undefined;
    'onvif-port'?: string | undefined;
    'onvif-host'?: string | undefined;
    'onvif-credentials'?: string | undefined;
    'onvif-discovery-port'?: string | undefined;
  },
  rtsp: RtspSettings | undefined,
): OnvifSettings | undefined {
  const given = (['onvif-port', 'onvif-host', 'onvif-credentials', 'onvif-discovery-port'] as const).filter(
    (flag) => values[flag] !== undefined,
  );
  if (!values.onvif) {
    if (given.length > 0) throw new UserError(`--${given[0]} needs --onvif`);
    return undefined;
  }
  const host = values['onvif-host'] ?? '127.0.0.1';
  const credentials = credentialsFrom(values['onvif-credentials'], '--onvif-credentials');
  refuseOpenService(host, credentials, '--onvif-host', '--onvif-credentials');
  if (rtsp && !isLoopbackHost(host) && isLoopbackHost(rtsp.host))
    throw new UserError(
      `--onvif-host ${JSON.stringify(host)} is reachable from other machines but the RTSP server listens on ` +
        `${rtsp.host} only: give --rtsp-host too, or the stream URIs it hands out will not open`,
    );
  return {
    host,
    port: portFrom(values['onvif-port'], 8000, '--onvif-port'),
    ...(credentials ? { credentials } : {}),
    discovery: { port: portFrom(values['onvif-discovery-port'], 3702, '--onvif-discovery-port') },
  };
}
