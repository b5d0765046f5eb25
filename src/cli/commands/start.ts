import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent } from '../../agent/agent.js';
import { consoleBackend } from '../../agent/console-backend.js';
import { createLogger } from '../../log/logger.js';
import { generateConsoleToken, isLoopbackHost } from '../../ui/access.js';
import { ConsoleConfigError, startConsoleServer } from '../../ui/server.js';
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
    '               [--insecure-anonymous]   (a broker off loopback needs --auth, or this and a warning)\n' +
    '               [--discovery-prefix homeassistant] [--no-discovery]',
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
    const logger = createLogger({ deviceId });
    const agent = new Agent({
      deviceId,
      profile,
      broker: await brokerChoiceFrom(values, io),
      discovery: {
        enabled: !values['no-discovery'],
        ...(values['discovery-prefix'] ? { prefix: values['discovery-prefix'] } : {}),
      },
      dataDir: dataDirFrom(values['data-dir'], io),
      logger,
      cwd: io.cwd,
      ...videoFrom(values.video ?? io.env['DOORBELL_VIDEO']),
      ...optional('bucket', values.bucket ?? io.env['DOORBELL_BUCKET']),
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
    printWelcome(io, agent, deviceId, profile.name);
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

function printWelcome(io: CliIo, agent: Agent, deviceId: string, profileName: string): void {
  const url = new URL(agent.brokerUrl);
  const host = url.hostname;
  const port = url.port || '1883';
  const idFlag = deviceId === 'front-door' ? '' : ` --id ${deviceId}`;
  const brokerFlag = port === '1883' && host === '127.0.0.1' ? '' : ` --broker mqtt://${host}:${port}`;
  writeLine(
    io.stdout,
    [
      `virtual doorbell "${deviceId}" (${profileName}) is up; broker ${agent.brokerUrl}`,
      `  watch it:  mosquitto_sub -h ${host} -p ${port} -t '${agent.topics.root.split('/')[0]}/#' -v`,
      `  ring it:   npx doorbell press${idFlag}${brokerFlag}${io.stdin.isTTY ? '   (or press Enter here)' : ''}`,
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

function videoFrom(value: string | undefined): { video?: string | null } {
  if (value === undefined) return {};
  return { video: value === 'none' ? null : value };
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
