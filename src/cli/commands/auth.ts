import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DEVICE_ID_PATTERN } from '../../config/profile.js';
import {
  hashPassword,
  parseUsersFile,
  type UserEntry,
  type UsersFile,
  withoutUser,
  withUser,
} from '../../mqtt/auth.js';
import { mosquittoAcl } from '../../mqtt/mosquitto-acl.js';
import { type CliIo, UserError, writeLine } from '../io.js';
import { action, defineActions, type OptionSpec } from '../spec.js';

const ROLES = ['device', 'owner', 'integrator', 'requester', 'agency', 'admin'] as const;
const MIN_PASSWORD = 8;

const prefixOption = {
  type: 'string',
  value: 'P',
  help: 'topic prefix (default doorbell)',
} satisfies OptionSpec;

export const command = defineActions('auth', {
  summary:
    'manage the broker users file (scrypt hashes; device/owner/integrator/requester/agency/admin roles; mosquitto ACL)',
  actions: {
    'add-user': action({
      synopsis: `FILE --user NAME --role ${ROLES.join('|')} [--device ID[,ID…]] [--password P]`,
      about: `add or replace a user in the broker's users file (created if missing, mode 0600). The password
is read from the first line of stdin unless --password is given (which leaves it in your shell
history); it is stored as a salted scrypt hash. A device user needs --device: the one device id
whose topics it may use. An owner needs --device with the ids of their doorbells: only an owner
(or an admin) may send share-decision, share-policy, config-set and config-get, and read owner/
topics and those commands' answers; integrators may not. A requester may ask for footage
(share), an agency may also place legal demands (legal-demand), each only in its own namespace
<prefix>/<id>/requester/<user>/…, which only it (and the owners) can read.`,
      positionals: true,
      options: {
        user: { type: 'string', value: 'NAME', help: 'the login (required)' },
        role: { type: 'string', value: 'ROLE', help: `one of ${ROLES.join(', ')} (required)` },
        device: {
          type: 'string',
          value: 'ID[,ID…]',
          help: 'the device of a device user, the devices of an owner',
        },
        password: {
          type: 'string',
          value: 'P',
          help: 'the password (else the first line of stdin); at least 8 characters',
        },
      },
      run: ({ values, positionals }, io) => addUser(values, positionals, io),
    }),
    'remove-user': action({
      synopsis: 'FILE --user NAME',
      about: 'remove a user',
      positionals: true,
      options: { user: { type: 'string', value: 'NAME', help: 'the login to remove (required)' } },
      run: ({ values, positionals }, io) => removeUser(values, positionals, io),
    }),
    list: action({
      synopsis: 'FILE',
      about: 'print the users and their roles (never the hashes)',
      positionals: true,
      options: {},
      run: ({ positionals }, io) => list(positionals, io),
    }),
    'mosquitto-acl': action({
      synopsis: 'FILE [--prefix doorbell] [--discovery-prefix homeassistant]',
      about: 'print the same rules as a mosquitto acl_file (for an external broker; see docs/security.md)',
      positionals: true,
      options: {
        prefix: prefixOption,
        'discovery-prefix': {
          type: 'string',
          value: 'P',
          help: 'Home Assistant discovery prefix (default homeassistant)',
        },
      },
      run: ({ values, positionals }, io) => printMosquittoAcl(values, positionals, io),
    }),
  },
  notes: 'The embedded broker uses the file with: doorbell start --auth FILE, doorbell broker --auth FILE',
});

async function addUser(
  values: {
    user?: string | undefined;
    role?: string | undefined;
    device?: string | undefined;
    password?: string | undefined;
  },
  positionals: string[],
  io: CliIo,
): Promise<number> {
  const path = fileFrom(positionals, io);
  if (!values.user) throw new UserError('--user NAME is required');
  const role = values.role as (typeof ROLES)[number] | undefined;
  if (!role || !ROLES.includes(role)) {
    throw new UserError(`--role ${JSON.stringify(values.role ?? '')}: use one of ${ROLES.join(', ')}`);
  }
  const devices = [...new Set(values.device?.split(',') ?? [])];
  const needsDevice = role === 'device' || role === 'owner';
  if (needsDevice && devices.length === 0)
    throw new UserError(`--device ID is required for ${role === 'owner' ? 'an owner' : 'a device user'}`);
  if (!needsDevice && values.device) throw new UserError(`--device applies to device and owner users only`);
  if (role === 'device' && devices.length > 1)
    throw new UserError(`--device: a device user is one device, got ${devices.length}`);
  for (const device of devices) {
    if (!DEVICE_ID_PATTERN.test(device)) {
      throw new UserError(`--device ${JSON.stringify(device)}: 1-64 characters of a-z, 0-9, _ or -`);
    }
  }
  const password = values.password ?? (await firstLine(io));
  if (password.length < MIN_PASSWORD) {
    throw new UserError(
      `the password must have at least ${MIN_PASSWORD} characters (got ${password.length})`,
    );
  }
  const file = await readUsers(path, { missingOk: true });
  const passwordHash = await hashPassword(password);
  const user = (
    role === 'device'
      ? { username: values.user, role, deviceId: devices[0]!, passwordHash }
      : role === 'owner'
        ? { username: values.user, role, devices, passwordHash }
        : { username: values.user, role, passwordHash }
  ) as UserEntry;
  const next = withUser(file, user);
  const checked = parseUsersFile(next, path);
  if (!checked.ok) throw new UserError(checked.errors.join('; '));
  await writeUsers(path, checked.value);
  const replaced = file.users.some((u) => u.username === values.user);
  writeLine(
    io.stdout,
    `${replaced ? 'replaced' : 'added'} ${role} user "${values.user}"${devices.length ? ` for device ${devices.join(',')}` : ''} in ${path}`,
  );
  return 0;
}

async function removeUser(
  values: { user?: string | undefined },
  positionals: string[],
  io: CliIo,
): Promise<number> {
  const path = fileFrom(positionals, io);
  if (!values.user) throw new UserError('--user NAME is required');
  const file = await readUsers(path, { missingOk: false });
  if (!file.users.some((u) => u.username === values.user)) {
    throw new UserError(`no user "${values.user}" in ${path}`, 1);
  }
  await writeUsers(path, withoutUser(file, values.user));
  writeLine(io.stdout, `removed user "${values.user}" from ${path}`);
  return 0;
}

async function list(positionals: string[], io: CliIo): Promise<number> {
  const path = fileFrom(positionals, io);
  const file = await readUsers(path, { missingOk: false });
  for (const user of file.users) {
    writeLine(
      io.stdout,
      `${user.username}\t${user.role}${user.role === 'device' ? `\t${user.deviceId}` : user.role === 'owner' ? `\t${user.devices.join(',')}` : ''}`,
    );
  }
  return 0;
}

async function printMosquittoAcl(
  values: { prefix?: string | undefined; 'discovery-prefix'?: string | undefined },
  positionals: string[],
  io: CliIo,
): Promise<number> {
  const path = fileFrom(positionals, io);
  const file = await readUsers(path, { missingOk: false });
  const scope = {
    prefix: values.prefix ?? 'doorbell',
    discoveryPrefix: values['discovery-prefix'] ?? 'homeassistant',
  };
  for (const [flag, value] of [
    ['--prefix', scope.prefix],
    ['--discovery-prefix', scope.discoveryPrefix],
  ] as const) {
    if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(value)) {
      throw new UserError(`${flag} ${JSON.stringify(value)}: topic levels of A-Z a-z 0-9 _ - separated by /`);
    }
  }
  io.stdout.write(mosquittoAcl(file, scope));
  return 0;
}

function fileFrom(positionals: string[], io: CliIo): string {
  const [file, ...extra] = positionals;
  if (!file) throw new UserError('which users file? e.g. doorbell auth list users.json');
  if (extra.length) throw new UserError(`unexpected argument "${extra[0]}"`);
  return resolve(io.cwd, file);
}

async function readUsers(path: string, options: { missingOk: boolean }): Promise<UsersFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && options.missingOk) return { users: [] };
    throw new UserError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code}`, 1);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${path}: not valid JSON (${(error as Error).message})`, 1);
  }
  const parsed = parseUsersFile(json, path);
  if (!parsed.ok) throw new UserError(parsed.errors.join('; '), 1);
  return parsed.value;
}

/** Atomic replace, owner-only: the file holds password hashes. */
async function writeUsers(path: string, file: UsersFile): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temp, path);
}

async function firstLine(io: CliIo): Promise<string> {
  if (io.stdin.isTTY) io.stderr.write('password: ');
  let text = '';
  for await (const chunk of io.stdin) {
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}
