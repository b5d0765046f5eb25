import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export interface Received {
  topic: string;
  text: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
  at: number;
  properties?: Record<string, unknown> | undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** A subscriber that records everything it sees, with a `waitFor` for assertions. */
export class Recorder {
  readonly messages: Received[] = [];
  private waiters: Array<() => void> = [];

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({
        topic,
        text: payload.toString('utf8'),
        payload,
        retain: packet.retain,
        qos: packet.qos,
        at: performance.now(),
        properties: packet.properties as Record<string, unknown> | undefined,
      });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async waitFor(
    predicate: (messages: Received[]) => boolean,
    timeoutMs = 5000,
    what = 'messages',
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.messages.map((m) => `${m.topic} ${m.text.slice(0, 120)}`).join('\n  ');
        throw new Error(`timed out waiting for ${what}; saw:\n  ${seen}`);
      }
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  async waitForTopic(
    topic: string,
    match: (text: string) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Received> {
    await this.waitFor((ms) => ms.some((m) => m.topic === topic && match(m.text)), timeoutMs, topic);
    return this.messages.find((m) => m.topic === topic && match(m.text))!;
  }

  clear(): void {
    this.messages.length = 0;
  }
}

export async function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 200, connectTimeout: 5000, ...options });
  await new Promise<void>((resolveConnect, reject) => {
    client.once('connect', () => resolveConnect());
    client.once('error', reject);
  });
  return client;
}

export async function subscriber(
  url: string,
  filter: string | string[],
  options: IClientOptions = {},
): Promise<Recorder> {
  const client = await connect(url, options);
  const recorder = new Recorder(client);
  await client.subscribeAsync(filter, { qos: 1 });
  return recorder;
}

export function mosquittoPath(): string | undefined {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']) {
    if (existsSync(candidate)) return candidate;
  }
  const which = spawnSync('which', ['mosquitto'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

export interface RunningMosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts a real mosquitto on a free loopback port with the given extra config lines. */
export async function startMosquitto(
  extraConfig: string[] = ['allow_anonymous true'],
  /** Credentials for the readiness probe, when the config refuses anonymous clients. */
  probe: IClientOptions = {},
): Promise<RunningMosquitto> {
  const binary = mosquittoPath();
  if (!binary) throw new Error('mosquitto is not installed');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'persistence false', ...extraConfig, ''].join('\n'));
  const child = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = `mqtt://127.0.0.1:${port}`;
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      const client = await connect(url, { reconnectPeriod: 0, connectTimeout: 500, ...probe });
      await client.endAsync();
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill();
        throw new Error(`mosquitto did not start: ${stderr || (error as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, port, stop: () => stopChild(child) };
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    child.once('exit', () => done());
    child.kill(signal);
  });
}

export interface SpawnedCli {
  child: ChildProcess;
  output(): string;
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

const liveChildren = new Set<ChildProcess>();
// A failed test must not leave doorbells (and their ffmpeg) running after the test process is gone.
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Runs `doorbell …` as a real child process from the TypeScript sources. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): SpawnedCli {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, DOORBELL_LOG_FORMAT: 'json', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    child,
    output: () => out,
    exited,
    async waitForOutput(text, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for "${text}" in:\n${out}`);
        if (child.exitCode !== null)
          throw new Error(`process exited (${child.exitCode}) before "${text}":\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Runs `doorbell …` to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000) {
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, DOORBELL_LOG_FORMAT: 'json', ...env },
      encoding: 'utf8',
      timeout: timeoutMs,
    },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export function tempDir(prefix = 'doorbell-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Client certificate files by common name. */
  client(commonName: string): { cert: string; key: string };
}

/**
 * A throwaway PKI made with the openssl CLI: a CA, a server certificate for localhost/127.0.0.1, and
 * client certificates (clientAuth) on demand. Files live in `dir`.
 */
export function makeTestPki(dir = tempDir('pki-')): TestPki {
  const openssl = (...args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=doorbell-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const sign = (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  };
  const server = sign(
    'server',
    '/CN=localhost',
    'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  const clients = new Map<string, { cert: string; key: string }>();
  return {
    dir,
    caCert: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    serverCert: server.cert,
    serverKey: server.key,
    client(commonName) {
      let files = clients.get(commonName);
      if (!files) {
        files = sign(
          `client-${commonName}`,
          `/CN=${commonName}`,
          'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n',
        );
        clients.set(commonName, files);
      }
      return files;
    },
  };
}

export interface RawMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
  qos: number;
}

/** Records raw payload bytes (binary-safe), unlike Recorder which keeps text. */
export class RawRecorder {
  readonly messages: RawMessage[] = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: Buffer.from(payload), retain: packet.retain, qos: packet.qos });
    });
  }

  async waitFor(predicate: (messages: RawMessage[]) => boolean, timeoutMs = 5000, what = 'messages') {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.messages)) {
      if (Date.now() > deadline) {
        const seen = this.messages.map((m) => `${m.topic} ${m.payload.toString('utf8', 0, 80)}`).join('\n  ');
        throw new Error(`timed out waiting for ${what}; saw:\n  ${seen}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export async function rawSubscriber(
  url: string,
  filter: string | string[],
  options: IClientOptions = {},
): Promise<RawRecorder> {
  const client = await connect(url, options);
  const recorder = new RawRecorder(client);
  await client.subscribeAsync(filter, { qos: 1 });
  return recorder;
}
