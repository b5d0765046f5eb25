import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { checkMessage } from '../../src/contract/catalog.js';
import { silentLogger } from '../../src/log/logger.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { startAgent } from '../helpers/agent.js';
import {
  freePort,
  makeTestPki,
  mosquittoPath,
  type RunningMosquitto,
  startMosquitto,
  stopChild,
  subscriber,
  tempDir,
} from '../helpers/mqtt.js';

const CLIENTS = ['mosquitto_sub', 'mosquitto_pub', 'mosquitto_rr'].every(
  (tool) => spawnSync('which', [tool]).status === 0,
);
const available = Boolean(mosquittoPath()) && CLIENTS && spawnSync('which', ['openssl']).status === 0;

/** A mosquitto_sub that keeps running; lines are `topic payload` (-v). */
function mosquittoSub(args: string[]) {
  const child = spawn('mosquitto_sub', ['-v', '-q', '1', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const lines = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const space = line.indexOf(' ');
        return { topic: line.slice(0, space), payload: line.slice(space + 1) };
      });
  return {
    child,
    lines,
    async waitFor(predicate: (ls: ReturnType<typeof lines>) => boolean, timeoutMs = 8000) {
      await vi.waitFor(
        () => {
          if (!predicate(lines())) throw new Error(`mosquitto_sub: timed out; got:\n${out}\n${err}`);
        },
        { timeout: timeoutMs, interval: 30 },
      );
    },
    stop: () => stopChild(child),
  };
}

/** Runs a client tool without blocking the event loop (the agents under test live in this process). */
function run(
  tool: string,
  args: string[],
  timeoutMs = 15_000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill(), timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Publishes and exits; never waits on the in-process agents, so a blocking call is fine. */
function pub(args: string[]): void {
  const result = spawnSync('mosquitto_pub', ['-q', '1', ...args], { encoding: 'utf8', timeout: 10_000 });
  if (result.status !== 0) throw new Error(`mosquitto_pub ${args.join(' ')}: ${result.stderr}`);
}

describe.skipIf(!available)(
  'integrator tools on a real mosquitto (skipped: mosquitto, its clients or openssl missing)',
  () => {
    let broker: RunningMosquitto;
    let v4: Agent;
    let v5: Agent;
    const host = ['-h', '127.0.0.1'];

    beforeAll(async () => {
      broker = await startMosquitto();
      v4 = await startAgent(broker.url, 'mq4-door', { button: { debounceMs: 0, chimeWindowMs: 0 } });
      v5 = await startAgent(broker.url, 'mq5-door', {}, { protocolVersion: 5 });
    });

    afterAll(async () => {
      await v4?.stop();
      await v5?.stop();
      await broker?.stop();
    });

    it('mosquitto_sub reads the retained availability and state, and they match the contract', async () => {
      const result = await run('mosquitto_sub', [
        ...host,
        '-p',
        String(broker.port),
        '-v',
        '-C',
        '2',
        '-W',
        '10',
        '-t',
        'doorbell/mq4-door/availability',
        '-t',
        'doorbell/mq4-door/state',
      ]);
      expect(result.status).toBe(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines).toHaveLength(2);
      for (const line of lines) {
        const space = line.indexOf(' ');
        const check = checkMessage(line.slice(0, space), Buffer.from(line.slice(space + 1)), {
          prefix: 'doorbell',
        });
        expect(check, line.slice(0, 80)).toMatchObject({ ok: true });
      }
      expect(lines).toContain('doorbell/mq4-door/availability online');
    });

    it('mosquitto_pub rings an MQTT 3.1.1 device; MQTT 5 and 3.1.1 integrator clients both see the ding', async () => {
      const watch = mosquittoSub([
        ...host,
        '-p',
        String(broker.port),
        '-t',
        'doorbell/mq4-door/response/+',
        '-t',
        'doorbell/mq4-door/events/ding',
      ]);
      const clientV5 = await subscriber(broker.url, 'doorbell/mq4-door/events/ding', { protocolVersion: 5 });
      const clientV4 = await subscriber(broker.url, 'doorbell/mq4-door/events/ding', { protocolVersion: 4 });
      try {
        // mosquitto_sub says nothing when it is subscribed: ask for the state until an answer shows up.
        let probes = 0;
        await vi.waitFor(
          () => {
            if (watch.lines().some((l) => l.topic.endsWith('/response/state'))) return;
            pub([
              ...host,
              '-p',
              String(broker.port),
              '-t',
              'doorbell/mq4-door/request/state',
              '-m',
              `{"transaction":"probe-${probes++}"}`,
            ]);
            throw new Error('mosquitto_sub never saw a state response');
          },
          { timeout: 15_000, interval: 200 },
        );
        pub([
          ...host,
          '-p',
          String(broker.port),
          '-t',
          'doorbell/mq4-door/request/press',
          '-m',
          '{"source":"homeassistant","transaction":"cli-1"}',
        ]);
        await watch.waitFor(
          (ls) =>
            ls.some((l) => l.topic.endsWith('/events/ding')) && ls.some((l) => l.payload.includes('"cli-1"')),
        );
        const press = watch.lines().find((l) => l.payload.includes('"cli-1"'))!;
        expect(JSON.parse(press.payload)).toMatchObject({
          status: 'ok',
          transaction: 'cli-1',
          data: { rang: true },
        });
        const ding = watch.lines().find((l) => l.topic.endsWith('/events/ding'))!;
        expect(checkMessage(ding.topic, Buffer.from(ding.payload), { prefix: 'doorbell' })).toMatchObject({
          ok: true,
        });
        expect(JSON.parse(ding.payload)).toMatchObject({ source: 'homeassistant', event_type: 'ring' });
        for (const client of [clientV5, clientV4]) {
          const seen = await client.waitForTopic('doorbell/mq4-door/events/ding');
          expect(seen.text).toBe(ding.payload);
          expect(seen.qos).toBe(1);
        }
      } finally {
        await watch.stop();
        await clientV5.client.endAsync();
        await clientV4.client.endAsync();
      }
    });

    it('mosquitto_rr (MQTT 5 request/response) gets the answer on its response topic in its namespace', async () => {
      // Not spawnSync: the agent answering lives in this process and needs the event loop.
      const result = await run('mosquitto_rr', [
        ...host,
        '-p',
        String(broker.port),
        '-t',
        'doorbell/mq5-door/requester/rr/request/state',
        '-e',
        'doorbell/mq5-door/requester/rr/replies/rr-test',
        '-m',
        '{"transaction":"rr-1"}',
        '-W',
        '10',
      ]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const response = JSON.parse(result.stdout) as {
        status: string;
        transaction: string;
        data: { deviceId: string };
      };
      expect(response).toMatchObject({ status: 'ok', transaction: 'rr-1', data: { deviceId: 'mq5-door' } });
      expect(
        checkMessage('doorbell/mq5-door/requester/rr/response/state', Buffer.from(result.stdout.trim()), {
          prefix: 'doorbell',
        }),
      ).toMatchObject({ ok: true });
    });
  },
);

describe.skipIf(!available)(
  'the agent on a mosquitto that needs TLS, a client certificate and a password (skipped: tools missing)',
  () => {
    let child: ChildProcess | undefined;
    let agent: Agent | undefined;

    afterAll(async () => {
      await agent?.stop();
      if (child) await stopChild(child);
    });

    it('connects like to a hosted broker (mqtts, CA, client cert + key, username/password); mosquitto_sub reads it the same way', async () => {
      const pki = makeTestPki();
      const dir = tempDir('mosquitto-tls-');
      // mosquitto started as root drops to the `mosquitto` user, which must be able to read these files.
      chmodSync(pki.dir, 0o755);
      chmodSync(dir, 0o755);
      const passwd = join(dir, 'passwd');
      const made = spawnSync('mosquitto_passwd', ['-b', '-c', passwd, 'door-user', 'door-pass-123'], {
        encoding: 'utf8',
      });
      expect(made.status).toBe(0);
      spawnSync('mosquitto_passwd', ['-b', passwd, 'integrator', 'integrator-pass'], { encoding: 'utf8' });
      for (const file of [passwd, pki.caCert, pki.serverCert, pki.serverKey]) chmodSync(file, 0o644);
      const port = await freePort();
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(
        conf,
        [
          `listener ${port} 127.0.0.1`,
          'persistence false',
          'log_dest stderr',
          'log_type error',
          'log_type warning',
          `cafile ${pki.caCert}`,
          `certfile ${pki.serverCert}`,
          `keyfile ${pki.serverKey}`,
          'require_certificate true',
          'allow_anonymous false',
          `password_file ${passwd}`,
          '',
        ].join('\n'),
      );
      const started = spawn(mosquittoPath()!, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      let log = '';
      started.stderr?.on('data', (c: Buffer) => {
        log += c.toString();
      });
      // Ready when the TLS port accepts TCP connections.
      await vi.waitFor(
        () =>
          new Promise<void>((resolve, reject) => {
            const socket = netConnect(port, '127.0.0.1', () => {
              socket.destroy();
              resolve();
            });
            socket.once('error', () => reject(new Error(`mosquitto did not start:\n${log}`)));
          }),
        { timeout: 5000, interval: 50 },
      );

      const loaded = await loadProfile('wired-1080p');
      if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
      const { video: _video, ...profile } = loaded.value.profile;
      const device = pki.client('door-device');
      agent = new Agent({
        deviceId: 'tls-door',
        profile: { ...loaded.value, profile },
        broker: {
          kind: 'external',
          connection: BrokerConnectionSchema.parse({
            url: `mqtts://localhost:${port}`,
            caFile: pki.caCert,
            certFile: device.cert,
            keyFile: device.key,
            username: 'door-user',
            password: 'door-pass-123',
            protocolVersion: 5,
            reconnectPeriodMs: 200,
          }),
        },
        dataDir: tempDir(),
        video: null,
        logger: silentLogger(),
        bootMs: 20,
      });
      await agent.start();

      const integrator = pki.client('integrator');
      const tlsArgs = [
        '-h',
        'localhost',
        '-p',
        String(port),
        '--cafile',
        pki.caCert,
        '--cert',
        integrator.cert,
        '--key',
        integrator.key,
      ];
      const read = await run('mosquitto_sub', [
        ...tlsArgs,
        '-u',
        'integrator',
        '-P',
        'integrator-pass',
        '-C',
        '1',
        '-W',
        '10',
        '-t',
        'doorbell/tls-door/availability',
      ]);
      expect(read.stdout.trim()).toBe('online');
      const wrong = await run('mosquitto_sub', [
        ...tlsArgs,
        '-u',
        'integrator',
        '-P',
        'nope',
        '-C',
        '1',
        '-W',
        '3',
        '-t',
        '#',
      ]);
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr).toMatch(/not authori[sz]ed|bad user name or password/i);
      const rr = await run('mosquitto_rr', [
        ...tlsArgs,
        '-u',
        'integrator',
        '-P',
        'integrator-pass',
        '-t',
        'doorbell/tls-door/requester/integrator/request/press',
        '-e',
        'doorbell/tls-door/requester/integrator/replies/tls',
        '-m',
        '{"transaction":"tls-rr"}',
        '-W',
        '10',
      ]);
      expect(JSON.parse(rr.stdout)).toMatchObject({
        status: 'ok',
        transaction: 'tls-rr',
        data: { rang: true },
      });
    });
  },
);
