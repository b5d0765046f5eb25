import { readFile } from 'node:fs/promises';
import { isLoopbackHost } from '../ui/access.js';
import { BrokerAuth, loadUsersFile } from './auth.js';

/** The broker's mqtts:// listener. */
export interface BrokerTlsOptions {
  /** PEM server certificate (chain) and private key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA that signs client certificates; required when `requireClientCert` is set. */
  ca?: string | Buffer;
  /** Mutual TLS: refuse clients without a certificate signed by `ca`. */
  requireClientCert?: boolean;
  /** 0 picks a free port; default 8883. */
  port?: number;
}

/** What `doorbell start` / `doorbell broker` flags say about the embedded broker's security. */
export interface BrokerSecurityFlags {
  /** --auth FILE: users file (see `doorbell auth add-user`). */
  authFile?: string | undefined;
  /** --tls-cert FILE and --tls-key FILE: PEM server certificate and key; adds an mqtts:// listener. */
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  /** --tls-ca FILE: require client certificates signed by this CA (mutual TLS). */
  tlsCa?: string | undefined;
  /** --tls-port N (default 8883; 0 picks a free port). */
  tlsPort?: number | undefined;
  /** --tls-identity: a verified client certificate's CN is the username (no password needed). */
  certificateIdentity?: boolean | undefined;
}

export type Exposure = { refuse: boolean; message?: string };

/**
 * Whether a broker on `host` may run as configured: off loopback it needs users (`--auth`), or an explicit
 * `--insecure-anonymous`, which is allowed with a warning. Like the console, which needs a token off loopback.
 */
export function exposureProblem(host: string, hasAuth: boolean, insecureAnonymous: boolean): Exposure {
  if (hasAuth || isLoopbackHost(host)) return { refuse: false };
  if (insecureAnonymous) {
    return {
      refuse: false,
      message: `WARNING: the MQTT broker on ${host} has no users: anyone who reaches it can ring, reconfigure and change the sharing policy (--insecure-anonymous)`,
    };
  }
  return {
    refuse: true,
    message: `--host ${host} is not loopback: the broker needs --auth USERS.json (or --insecure-anonymous to run it open to anyone who reaches it)`,
  };
}

/** Reads the files the flags name; every problem is one Error line naming the flag and file. */
export async function loadBrokerSecurity(
  flags: BrokerSecurityFlags,
): Promise<{ auth?: BrokerAuth; tls?: BrokerTlsOptions }> {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) {
    throw new Error('--tls-cert and --tls-key go together (a PEM certificate and its private key)');
  }
  if (flags.tlsCa && !flags.tlsCert)
    throw new Error('--tls-ca needs a TLS listener (--tls-cert and --tls-key)');
  if (flags.certificateIdentity && !(flags.tlsCa && flags.authFile)) {
    throw new Error(
      '--tls-identity needs --tls-ca (to verify client certificates) and --auth (to know the users)',
    );
  }
  const users = flags.authFile ? await loadUsersFile(flags.authFile) : undefined;
  let tls: BrokerTlsOptions | undefined;
  if (flags.tlsCert && flags.tlsKey) {
    // Settled, then the first failure in flag order: which read fails first must not decide the message.
    const reads = await Promise.allSettled([
      readPem('--tls-cert', flags.tlsCert),
      readPem('--tls-key', flags.tlsKey),
      flags.tlsCa ? readPem('--tls-ca', flags.tlsCa) : Promise.resolve(undefined),
    ]);
    const failed = reads.find((read) => read.status === 'rejected');
    if (failed) throw failed.reason;
    const [cert, key, ca] = reads.map(
      (read) => (read as PromiseFulfilledResult<Buffer | undefined>).value,
    ) as [Buffer, Buffer, Buffer | undefined];
    tls = {
      cert,
      key,
      ...(ca ? { ca, requireClientCert: true } : {}),
      ...(flags.tlsPort !== undefined ? { port: flags.tlsPort } : {}),
    };
  }
  return {
    ...(users
      ? { auth: new BrokerAuth({ users, certificateIdentity: flags.certificateIdentity ?? false }) }
      : {}),
    ...(tls ? { tls } : {}),
  };
}

async function readPem(flag: string, path: string): Promise<Buffer> {
  const pem = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `${flag} ${path}: cannot read (${error.code === 'ENOENT' ? 'no such file' : error.code})`,
    );
  });
  if (!pem.includes('-----BEGIN ')) throw new Error(`${flag} ${path}: not a PEM file`);
  return pem;
}
