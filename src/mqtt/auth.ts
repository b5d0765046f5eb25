import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TLSSocket } from 'node:tls';
import type { AedesOptions, Client } from 'aedes';
import { z } from 'zod';
import { DeviceIdSchema } from '../config/profile.js';
import type { Logger } from '../log/logger.js';
import { issueLines } from '../util/zod-errors.js';
import { type AclScope, canPublish, canReceive, canSubscribe, type Principal } from './acl.js';
import { deviceClientId, USERNAME_PATTERN } from './topics.js';

export type { Principal, Role } from './acl.js';

const USERNAME = USERNAME_PATTERN;

/**
 * scrypt cost N = 2^15, r = 8, p = 3: one of OWASP's equivalent minimum settings. 32 MiB per check, so
 * libuv's 4 worker threads bound a connect storm to 128 MiB.
 */
export const DEFAULT_SCRYPT = { logN: 15, r: 8, p: 3, keyLength: 32, saltLength: 16 } as const;

export type ScryptParams = { logN: number; r: number; p: number; keyLength: number; saltLength: number };

const PasswordHashSchema = z
  .string()
  .regex(
    /^\$scrypt\$ln=\d{1,2},r=\d{1,2},p=\d{1,2}\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/,
    'a password hash like $scrypt$ln=15,r=8,p=1$<salt>$<hash> (made by `doorbell auth add-user`)',
  );

const UsernameSchema = z.string().regex(USERNAME, 'a username is 1-64 characters of A-Z, a-z, 0-9, _ . @ -');

const UserSchema = z.discriminatedUnion('role', [
  z
    .object({
      username: UsernameSchema,
      role: z.literal('device'),
      deviceId: DeviceIdSchema,
      passwordHash: PasswordHashSchema,
    })
    .strict(),
  z
    .object({
      username: UsernameSchema,
      role: z.literal('owner'),
      devices: z.array(DeviceIdSchema).min(1, 'an owner owns at least one device'),
      passwordHash: PasswordHashSchema,
    })
    .strict(),
  z
    .object({
      username: UsernameSchema,
      role: z.enum(['integrator', 'requester', 'agency', 'admin']),
      passwordHash: PasswordHashSchema,
    })
    .strict(),
]);

export const UsersFileSchema = z
  .object({
    $schema: z.string().optional(),
    users: z.array(UserSchema),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.users.forEach((user, index) => {
      if (seen.has(user.username)) {
        ctx.addIssue({
          code: 'custom',
          path: ['users', index, 'username'],
          message: `duplicate username ${JSON.stringify(user.username)}`,
        });
      }
      seen.add(user.username);
    });
  });

export type UsersFile = z.output<typeof UsersFileSchema>;
export type UserEntry = UsersFile['users'][number];

function scrypt(password: Buffer, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  return new Promise((resolve, reject) =>
    scryptCallback(
      password,
      salt,
      params.keyLength,
      { N, r: params.r, p: params.p, maxmem: 256 * N * params.r },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
}

/** A salted scrypt hash in PHC-like form: `$scrypt$ln=15,r=8,p=1$<salt b64>$<hash b64>`. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(params.saltLength);
  const key = await scrypt(Buffer.from(password, 'utf8'), salt, params);
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Checks a password against a hash from `hashPassword`, in constant time for hashes of the same shape. */
export async function verifyPassword(password: string | Buffer, encoded: string): Promise<boolean> {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(encoded);
  if (!match) return false;
  const [, logN, r, p, saltB64, keyB64] = match;
  const expected = Buffer.from(keyB64!, 'base64');
  const params = {
    logN: Number(logN),
    r: Number(r),
    p: Number(p),
    keyLength: expected.length,
    saltLength: 0,
  };
  if (params.logN < 1 || params.logN > 20 || expected.length < 16) return false;
  const actual = await scrypt(
    typeof password === 'string' ? Buffer.from(password, 'utf8') : password,
    Buffer.from(saltB64!, 'base64'),
    params,
  );
  return timingSafeEqual(actual, expected);
}

export type ParsedUsers = { ok: true; value: UsersFile } | { ok: false; errors: string[] };

export function parseUsersFile(input: unknown, source: string): ParsedUsers {
  const result = UsersFileSchema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: issueLines(result.error, { source, root: '(root)' }),
  };
}

/** Reads and validates a users file; throws one Error whose message lists every problem. */
export async function loadUsersFile(path: string): Promise<UsersFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${path}: cannot read the users file (${code === 'ENOENT' ? 'no such file' : code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = parseUsersFile(json, path);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.value;
}

/** Adds or replaces a user; pure. */
export function withUser(file: UsersFile, user: UserEntry): UsersFile {
  const users = file.users.filter((existing) => existing.username !== user.username);
  return { ...file, users: [...users, user].sort((a, b) => a.username.localeCompare(b.username)) };
}

export function withoutUser(file: UsersFile, username: string): UsersFile {
  return { ...file, users: file.users.filter((user) => user.username !== username) };
}

export function principalOf(user: UserEntry): Principal {
  switch (user.role) {
    case 'device':
      return { role: 'device', deviceId: user.deviceId, username: user.username };
    case 'owner':
      return { role: 'owner', devices: user.devices, username: user.username };
    default:
      return { role: user.role, username: user.username };
  }
}

/** A principal without its username, one role at a time (a plain Omit would merge the roles' fields). */
export type SessionPrincipal = Principal extends infer Role
  ? Role extends Principal
    ? Omit<Role, 'username'>
    : never
  : never;

function assertDeviceIds(ids: readonly string[] | undefined): void {
  if (!ids || ids.length === 0 || !ids.every((id) => DeviceIdSchema.safeParse(id).success)) {
    throw new Error(`session credentials need valid device ids, got ${JSON.stringify(ids)}`);
  }
}

export interface BrokerAuthOptions {
  users: UsersFile;
  /**
   * With a TLS listener that verifies client certificates: a client whose verified certificate's
   * common name is a known username is that user without a password (mosquitto's use_identity_as_username).
   */
  certificateIdentity?: boolean;
}

/**
 * Who may connect and what they may do. Passwords are checked against salted scrypt hashes; unknown
 * users cost the same scrypt work so timing does not reveal which usernames exist.
 */
export class BrokerAuth {
  private readonly users: Map<string, UserEntry>;
  private readonly sessions = new Map<string, { password: Buffer; principal: Principal }>();
  private readonly dummyHash: Promise<string>;
  /** scrypt runs on libuv's 4-thread pool, shared with file I/O (spool, outbox): keep half of it free. */
  private readonly verifying = new Semaphore(2);

  constructor(private readonly options: BrokerAuthOptions) {
    this.users = new Map(options.users.users.map((user) => [user.username, user]));
    const sample = options.users.users[0]?.passwordHash;
    this.dummyHash = sample ? Promise.resolve(sample) : hashPassword(randomBytes(16).toString('hex'));
  }

  get certificateIdentity(): boolean {
    return this.options.certificateIdentity ?? false;
  }

  /**
   * In-memory credentials for a client the host process runs itself (the agent next to its embedded
   * broker), so a users file need not list it. Valid until the broker stops.
   */
  issueSessionCredentials(principal: SessionPrincipal): {
    username: string;
    password: string;
  } {
    if (principal.role === 'device') assertDeviceIds([principal.deviceId]);
    if (principal.role === 'owner') assertDeviceIds(principal.devices);
    const username = `session.${randomBytes(8).toString('hex')}`;
    const password = randomBytes(24).toString('base64url');
    const full = { ...principal, username } as Principal;
    this.sessions.set(username, { password: Buffer.from(password), principal: full });
    return { username, password };
  }

  async authenticate(
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<Principal | undefined> {
    if (username === undefined) return undefined;
    const session = this.sessions.get(username);
    if (session) {
      const given = password ?? Buffer.alloc(0);
      return given.length === session.password.length && timingSafeEqual(given, session.password)
        ? session.principal
        : undefined;
    }
    const user = this.users.get(username);
    const hash = user?.passwordHash ?? (await this.dummyHash);
    const ok = await this.verifying.run(() => verifyPassword(password ?? Buffer.alloc(0), hash));
    return ok && user ? principalOf(user) : undefined;
  }

  /** A device some user (or session) of this broker logs in as: its client id is reserved to it. */
  hasDevice(deviceId: string): boolean {
    const isIt = (principal: Principal) => principal.role === 'device' && principal.deviceId === deviceId;
    return (
      [...this.users.values()].some((user) => isIt(principalOf(user))) ||
      [...this.sessions.values()].some((session) => isIt(session.principal))
    );
  }

  /** A user known by name only, for certificate identity. */
  principalFor(username: string): Principal | undefined {
    const user = this.users.get(username);
    return user ? principalOf(user) : undefined;
  }
}

class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

type AedesHooks = Required<
  Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>
>;

/** aedes hooks enforcing BrokerAuth and the ACL; refused publishes close the client (MQTT 3.1.1 has no NACK). */
export function aedesAuthHooks(auth: BrokerAuth, scope: AclScope, logger?: Logger): AedesHooks {
  const principals = new WeakMap<Client, Principal>();
  return {
    authenticate: (client, username, password, done) => {
      const identity = auth.certificateIdentity ? certificateCommonName(client) : undefined;
      const fromCertificate = identity !== undefined && username === undefined;
      const attempt = fromCertificate
        ? Promise.resolve(auth.principalFor(identity))
        : auth.authenticate(username, password);
      attempt.then(
        (principal) => {
          const reserved =
            principal && reservedClientIdProblem(client.id, principal, (id) => auth.hasDevice(id));
          if (reserved) {
            logger?.warn({ clientId: client.id, username }, `broker refused a connection: ${reserved}`);
            // CONNACK 2: identifier rejected.
            return done(Object.assign(new Error(reserved), { returnCode: 2 }) as never, false);
          }
          if (principal) {
            principals.set(client, principal);
            return done(null, true);
          }
          logger?.warn({ clientId: client.id, username }, 'broker refused a connection: bad credentials');
          const error = Object.assign(new Error('bad username or password'), {
            returnCode: username === undefined && !fromCertificate ? 5 : 4,
          });
          done(error as never, false);
        },
        (error: Error) => done(Object.assign(error, { returnCode: 3 }) as never, false),
      );
    },
    authorizePublish: (client, packet, callback) => {
      // A null client is the broker delivering a stored will of a client that authenticated earlier.
      if (!client) return callback(null);
      const principal = principals.get(client);
      if (!principal) return callback(new Error('not authenticated'));
      const decision = canPublish(principal, packet.topic, scope);
      if (decision.allowed) return callback(null);
      logger?.warn(
        { clientId: client.id, topic: packet.topic },
        `broker refused a publish: ${decision.reason}`,
      );
      callback(new Error(`refused: ${decision.reason}`));
    },
    authorizeSubscribe: (client, subscription, callback) => {
      const principal = principals.get(client);
      const decision = principal
        ? canSubscribe(principal, subscription.topic, scope)
        : ({ allowed: false, reason: 'not authenticated' } as const);
      if (decision.allowed) return callback(null, subscription);
      logger?.warn(
        { clientId: client.id, filter: subscription.topic },
        `broker refused a subscription: ${decision.reason}`,
      );
      // Negated: SUBACK carries 0x80 for this filter and the connection stays up.
      callback(null, null);
    },
    authorizeForward: (client, packet) => {
      const principal = principals.get(client);
      return principal && canReceive(principal, packet.topic, scope) ? packet : null;
    },
  };
}

const DEVICE_CLIENT_ID = new RegExp(`^${deviceClientId('(.*)')}$`);

/**
 * A device's client id belongs to that device's user: anyone else taking it would knock the device offline. Only
 * ids of devices the broker knows are reserved (`doorbell-cli-…` of the CLI tools is not a device).
 */
export function reservedClientIdProblem(
  clientId: string,
  principal: Principal,
  isDevice: (deviceId: string) => boolean,
): string | undefined {
  const deviceId = DEVICE_CLIENT_ID.exec(clientId)?.[1];
  if (deviceId === undefined || !isDevice(deviceId)) return undefined;
  if (principal.role === 'device' && principal.deviceId === deviceId) return undefined;
  return `client id ${clientId} is reserved to device ${deviceId}; ${principal.username} may not use it`;
}

function certificateCommonName(client: Client): string | undefined {
  const socket = client.conn;
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate()?.subject as { CN?: string | string[] } | undefined;
  const cn = Array.isArray(subject?.CN) ? subject.CN[0] : subject?.CN;
  return cn && USERNAME.test(cn) ? cn : undefined;
}
