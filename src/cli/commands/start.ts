import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent } from '../../agent/agent.js';
import { consoleBackend } from '../../agent/console-backend.js';
import { createLogger } from '../../log/logger.js';
import { generateConsoleToken, isLoopbackHost } from '../../ui/access.js';
import { ConsoleConfigError, startConsoleServer } from '../../ui/server.js';
import { VideoError } from '../../video/ffmpeg/errors.js';
import { assertWholeVideo } from '../../video/ffmpeg/probe.js';
import type { CliCommand, CliIo } from '../io.js';
import { UsageError, waitForSignal, writeLine } from '../io.js';
import {
  brokerChoiceFrom,
  brokerOptionSpec,
  brokerSecurityOptionSpec,
  dataDirFrom,
  deviceIdFrom,
  portFrom,
  profileFrom,
} from '../options.js';

export const command: CliCommand = {
  summary: 'run a virtual doorbell (embedded broker unless --broker is given)',
  usage:
    'doorbell start [--profile NAME|PATH] [--id ID] [--port N] [--host ADDR] [--broker URL [--username U --password P]\n' +
    '               [--ca FILE] [--cert FILE --key FILE] [--insecure] [--mqtt-version 3.1.1|5]] [--data-dir DIR]\n' +
    '               [--video FILE|none] [--bucket DIR|file://DIR|s3://NAME?endpoint=…&region=…]\n' +
    '               [--retention-cron EXPR] [--owner-key owner.pub.pem]\n' +
    '               [--ui [--ui-port 8080] [--ui-host 127.0.0.1] [--ui-token TOKEN]]\n' +
    '               [--auth USERS.json] [--tls-cert FILE --tls-key FILE [--tls-ca FILE] [--tls-port N] [--tls-identity]]\n' +
    '               [--insecure-anonymous] [--discovery-prefix homeassistant] [--no-discovery]\n\n' +
    '  --profile NAME|PATH   device profile: a name in device-profiles/ or a JSON file (default wired-1080p)\n' +
    '  --id ID               device id, 1-64 of a-z 0-9 _ - (default front-door; env DOORBELL_ID)\n' +
    '  --port N, --host ADDR where the embedded broker listens (1883 on 127.0.0.1; --port 0 picks a free port)\n' +
    '  --broker URL          use this broker (mqtt://, mqtts://, ws://, wss://) instead of the embedded one\n' +
    '  --username, --password, --ca, --cert, --key, --insecure   credentials and TLS for --broker\n' +
    '  --mqtt-version 3.1.1|5  protocol to --broker (the embedded broker speaks 3.1.1 only)\n' +
    '  --data-dir DIR        per-device state (seq, outbox, spool, config) and the default bucket (default .doorbell)\n' +
    '  --video FILE|none     the camera: a video file played in a loop, or none (no motion, no clips, no camera)\n' +
    '  --bucket DIR|URL      where clips go: a folder, file://DIR or s3://NAME?… (default DATA-DIR/bucket)\n' +
    '  --retention-cron EXPR when the retention sweep runs (cron, default hourly: 0 * * * *)\n' +
    '  --owner-key FILE      encrypt clips to this owner public key (PEM)\n' +
    '  --ui                  serve the web console (--ui-port 8080, --ui-host 127.0.0.1, --ui-token TOKEN)\n' +
    '  --auth USERS.json     require logins on the embedded broker (users and per-device ACL)\n' +
    '  --insecure-anonymous  let an embedded broker off loopback run without --auth (with a warning)\n' +
    '  --tls-cert, --tls-key, --tls-ca, --tls-port, --tls-identity   mqtts on the embedded broker\n' +
    '  --discovery-prefix P, --no-discovery   Home Assistant MQTT discovery (on, prefix homeassistant)\n\n' +
    'Exit codes: 0 stopped by SIGINT/SIGTERM, 1 could not start, 2 bad arguments or files.',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        profile: { type: 'string' },
        id: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'data-dir': { type: 'string' },
        video: { type: 'string' },
        bucket: { type: 'string' },
        'retention-cron': { type: 'string' },
        'owner-key': { type: 'string' },
        ui: { type: 'boolean' },
        'ui-port': { type: 'string' },
        'ui-host': { type: 'string' },
        'ui-token': { type: 'string' },
        'discovery-prefix': { type: 'string' },
        'no-discovery': { type: 'boolean' },
        ...brokerOptionSpec,
        ...brokerSecurityOptionSpec,
      },
      strict: true,
    });
    const deviceId = deviceIdFrom(values.id, io);
    const profile = await profileFrom(values.profile, io);
    const video = await videoFrom(values.video ?? io.env['DOORBELL_VIDEO'], io.cwd);
    const dataDir = dataDirFrom(values['data-dir'], io);
    const credentials = values.auth
      ? { sub: ' -u USER -P PASSWORD', press: ' --username USER --password PASSWORD' }
      : { sub: '', press: '' };
    const logger = createLogger({ deviceId });
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
      bucket: values.bucket ?? io.env['DOORBELL_BUCKET'] ?? join(dataDir, 'bucket'),
      ...optional('retentionCron', values['retention-cron']),
      ...optional('ownerPublicKey', values['owner-key']),
    });
    try {
      await agent.start();
    } catch (error) {
      await agent.stop();
      throw new UsageError(`cannot start: ${(error as Error).message}`, 1);
    }
    const consoleServer = values.ui ? await startConsole(agent, values, io) : undefined;
    agent.setLinkOrigin(consoleServer?.url);
    printWelcome(io, agent, deviceId, profile.name, credentials);
    if (consoleServer) writeLine(io.stdout, `  console:   ${consoleServer.openUrl}`);
    const stopKeys = io.stdin.isTTY ? ringOnEnter(io, agent) : () => {};
    await waitForSignal();
    stopKeys();
    writeLine(io.stdout, 'stopping: finishing the open clip, publishing offline…');
    await consoleServer?.stop();
    await agent.stop();
    return 0;
  },
};

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
    throw new UsageError(`--video ${JSON.stringify(value)}: no such file (give a video file, or none)`);
  try {
    await assertWholeVideo(file);
  } catch (error) {
    if (error instanceof VideoError)
      throw new UsageError(`--video ${JSON.stringify(value)}: ${error.message}`, 2);
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
  io: CliIo,
) {
  const host = values['ui-host'] ?? '127.0.0.1';
  const token = values['ui-token'] ?? (isLoopbackHost(host) ? undefined : generateConsoleToken());
  try {
    return await startConsoleServer({
      backend: consoleBackend(agent),
      host,
      port: portFrom(values['ui-port'], io, 8080),
      ...(token ? { token } : {}),
    });
  } catch (error) {
    await agent.stop();
    if (error instanceof ConsoleConfigError) throw new UsageError(error.message);
    throw new UsageError(`cannot start the console: ${(error as Error).message}`, 1);
  }
}
