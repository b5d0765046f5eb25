import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { command as authCommand } from '../../src/cli/commands/auth.js';
import {
  BrokerAuth,
  hashPassword,
  loadUsersFile,
  parseUsersFile,
  type UsersFile,
  verifyPassword,
} from '../../src/mqtt/auth.js';
import { loadBrokerSecurity } from '../../src/mqtt/broker-security.js';
import { captureIo } from '../helpers/cli.js';
import { tempDir } from '../helpers/mqtt.js';

const CHEAP = { logN: 10, r: 8, p: 1, keyLength: 32, saltLength: 16 };

describe('password hashes', () => {
  it('round-trips with the default (expensive) parameters, salted so equal passwords differ', async () => {
    const [a, b] = await Promise.all([hashPassword('correct horse'), hashPassword('correct horse')]);
    expect(a).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsE', a)).toBe(false);
  });

  it('rejects malformed or weakened hashes instead of throwing', async () => {
    const good = await hashPassword('pw-12345', CHEAP);
    expect(await verifyPassword('pw-12345', good)).toBe(true);
    expect(await verifyPassword('pw-12345', 'plaintext')).toBe(false);
    expect(await verifyPassword('pw-12345', good.replace(/\$[^$]+$/, '$AAAA'))).toBe(false);
    expect(await verifyPassword('pw-12345', good.replace('ln=10', 'ln=40'))).toBe(false);
  });
});

describe('users file', () => {
  it('names the field and problem for each invalid entry', async () => {
    const hash = await hashPassword('pw-12345', CHEAP);
    const result = parseUsersFile(
      {
        users: [
          { username: 'a', role: 'device', passwordHash: hash },
          { username: 'b', role: 'device', deviceId: 'BAD ID', passwordHash: hash },
          { username: 'c', role: 'wizard', passwordHash: hash },
          { username: 'd', role: 'integrator', passwordHash: 'secret' },
          { username: 'f', role: 'owner', devices: [], passwordHash: hash },
        ],
      },
      'users.json',
    );
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.some((e) => e.startsWith('users.json: users.0.deviceId'))).toBe(true);
    expect(errors.some((e) => e.startsWith('users.json: users.1.deviceId'))).toBe(true);
    expect(errors.some((e) => e.startsWith('users.json: users.2.role'))).toBe(true);
    expect(errors.some((e) => e.startsWith('users.json: users.3.passwordHash'))).toBe(true);
    expect(errors).toContain('users.json: users.4.devices: an owner owns at least one device');
    const duplicate = parseUsersFile(
      {
        users: [
          { username: 'e', role: 'integrator', passwordHash: hash },
          { username: 'e', role: 'admin', passwordHash: hash },
        ],
      },
      'users.json',
    );
    expect(duplicate).toEqual({
      ok: false,
      errors: ['users.json: users.1.username: duplicate username "e"'],
    });
  });

  it('loadUsersFile gives one clear error for a missing or broken file', async () => {
    const dir = tempDir();
    await expect(loadUsersFile(join(dir, 'nope.json'))).rejects.toThrow(
      /nope.json: cannot read the users file \(no such file\)/,
    );
    writeFileSync(join(dir, 'bad.json'), '{"users": [');
    await expect(loadUsersFile(join(dir, 'bad.json'))).rejects.toThrow(/bad.json: not valid JSON/);
  });
});

describe('BrokerAuth', () => {
  async function users(): Promise<UsersFile> {
    return {
      users: [
        {
          username: 'door-a',
          role: 'device',
          deviceId: 'door-a',
          passwordHash: await hashPassword('pw-a-123', CHEAP),
        },
        { username: 'ha', role: 'integrator', passwordHash: await hashPassword('pw-ha-123', CHEAP) },
      ],
    };
  }

  it('maps good credentials to a principal and refuses bad, unknown or missing ones', async () => {
    const auth = new BrokerAuth({ users: await users() });
    expect(await auth.authenticate('door-a', Buffer.from('pw-a-123'))).toEqual({
      role: 'device',
      deviceId: 'door-a',
      username: 'door-a',
    });
    expect(await auth.authenticate('ha', Buffer.from('pw-ha-123'))).toEqual({
      role: 'integrator',
      username: 'ha',
    });
    expect(await auth.authenticate('door-a', Buffer.from('pw-ha-123'))).toBeUndefined();
    expect(await auth.authenticate('nobody', Buffer.from('pw-a-123'))).toBeUndefined();
    expect(await auth.authenticate('door-a', undefined)).toBeUndefined();
    expect(await auth.authenticate(undefined, Buffer.from('pw-a-123'))).toBeUndefined();
  });

  it('answers a burst of concurrent logins correctly (verifications are queued, never dropped)', async () => {
    const auth = new BrokerAuth({ users: await users() });
    const attempts = Array.from({ length: 9 }, (_, i) =>
      auth.authenticate(
        i % 3 === 0 ? 'ha' : 'door-a',
        Buffer.from(i % 3 === 2 ? 'wrong-pw' : i % 3 === 0 ? 'pw-ha-123' : 'pw-a-123'),
      ),
    );
    const results = await Promise.all(attempts);
    expect(results.map((r) => r?.role ?? 'refused')).toEqual([
      'integrator',
      'device',
      'refused',
      'integrator',
      'device',
      'refused',
      'integrator',
      'device',
      'refused',
    ]);
  });

  it('session credentials work in memory only and cannot be guessed from a file user', async () => {
    const auth = new BrokerAuth({ users: await users() });
    const session = auth.issueSessionCredentials({ role: 'device', deviceId: 'door-z' });
    expect(await auth.authenticate(session.username, Buffer.from(session.password))).toMatchObject({
      role: 'device',
      deviceId: 'door-z',
    });
    expect(await auth.authenticate(session.username, Buffer.from(`${session.password}x`))).toBeUndefined();
    expect(await auth.authenticate(session.username, Buffer.from(''))).toBeUndefined();
    const other = new BrokerAuth({ users: await users() });
    expect(await other.authenticate(session.username, Buffer.from(session.password))).toBeUndefined();
    const owner = auth.issueSessionCredentials({ role: 'owner', devices: ['door-z'] });
    expect(await auth.authenticate(owner.username, Buffer.from(owner.password))).toEqual({
      role: 'owner',
      devices: ['door-z'],
      username: owner.username,
    });
    // A principal the ACL could not evaluate is refused when issued, not when its first publish arrives.
    expect(() => auth.issueSessionCredentials({ role: 'owner', devices: [] })).toThrow(/valid device ids/);
    expect(() => auth.issueSessionCredentials({ role: 'device', deviceId: 'BAD ID' })).toThrow(
      /valid device ids/,
    );
  });
});

describe('doorbell auth', () => {
  it('add-user writes a 0600 file with a scrypt hash the broker accepts; list and remove-user work', async () => {
    const dir = tempDir();
    const file = join(dir, 'users.json');
    const io = captureIo({ stdin: 's3cret-door\n', cwd: tempDir() });
    expect(
      await authCommand.run(
        ['add-user', file, '--user', 'front', '--role', 'device', '--device', 'front-door'],
        io,
      ),
    ).toBe(0);
    expect(io.out()).toContain('added device user "front" for device front-door');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('s3cret-door');
    await authCommand.run(
      ['add-user', file, '--user', 'ha', '--role', 'integrator', '--password', 'integrator-pw'],
      captureIo({ cwd: tempDir() }),
    );
    const ownerIo = captureIo({ cwd: tempDir() });
    await authCommand.run(
      [
        'add-user',
        file,
        '--user',
        'kim',
        '--role',
        'owner',
        '--device',
        'front-door,back-door,front-door',
        '--password',
        'owner-pw-1',
      ],
      ownerIo,
    );
    expect(ownerIo.out()).toContain('added owner user "kim" for device front-door,back-door');

    const security = await loadBrokerSecurity({ authFile: file });
    expect(await security.auth!.authenticate('front', Buffer.from('s3cret-door'))).toMatchObject({
      role: 'device',
      deviceId: 'front-door',
    });
    expect(await security.auth!.authenticate('ha', Buffer.from('integrator-pw'))).toMatchObject({
      role: 'integrator',
    });
    expect(await security.auth!.authenticate('kim', Buffer.from('owner-pw-1'))).toEqual({
      role: 'owner',
      devices: ['front-door', 'back-door'],
      username: 'kim',
    });

    const listing = captureIo({ cwd: tempDir() });
    await authCommand.run(['list', file], listing);
    expect(listing.out()).toBe(
      'front\tdevice\tfront-door\nha\tintegrator\nkim\towner\tfront-door,back-door\n',
    );
    await authCommand.run(['remove-user', file, '--user', 'ha'], captureIo({ cwd: tempDir() }));
    await authCommand.run(['remove-user', file, '--user', 'kim'], captureIo({ cwd: tempDir() }));
    const after = captureIo({ cwd: tempDir() });
    await authCommand.run(['list', file], after);
    expect(after.out()).toBe('front\tdevice\tfront-door\n');
  });

  it('refuses bad input with one clear line', async () => {
    const file = join(tempDir(), 'users.json');
    await expect(
      authCommand.run(
        ['add-user', file, '--user', 'x', '--role', 'device'],
        captureIo({ stdin: 'longenough\n', cwd: tempDir() }),
      ),
    ).rejects.toThrow(/--device ID is required/);
    await expect(
      authCommand.run(
        ['add-user', file, '--user', 'x', '--role', 'root', '--password', 'longenough'],
        captureIo({ cwd: tempDir() }),
      ),
    ).rejects.toThrow(/--role "root": use one of device, owner, integrator, requester, agency, admin/);
    await expect(
      authCommand.run(
        ['add-user', file, '--user', 'x', '--role', 'owner', '--password', 'longenough'],
        captureIo({ cwd: tempDir() }),
      ),
    ).rejects.toThrow(/--device ID is required for an owner/);
    await expect(
      authCommand.run(
        ['add-user', file, '--user', 'x', '--role', 'device', '--device', 'a,b', '--password', 'longenough'],
        captureIo({ cwd: tempDir() }),
      ),
    ).rejects.toThrow(/a device user is one device, got 2/);
    await expect(
      authCommand.run(
        ['add-user', file, '--user', 'x', '--role', 'owner', '--device', 'a,BAD', '--password', 'longenough'],
        captureIo({ cwd: tempDir() }),
      ),
    ).rejects.toThrow(/--device "BAD"/);
    await expect(
      authCommand.run(
        ['add-user', file, '--user', 'x', '--role', 'admin'],
        captureIo({ stdin: 'short\n', cwd: tempDir() }),
      ),
    ).rejects.toThrow(/at least 8 characters/);
    await expect(
      authCommand.run(
        ['add-user', file, '--user', 'bad name', '--role', 'admin', '--password', 'longenough'],
        captureIo({ cwd: tempDir() }),
      ),
    ).rejects.toThrow(/username/);
    await expect(
      authCommand.run(['remove-user', file, '--user', 'x'], captureIo({ cwd: tempDir() })),
    ).rejects.toThrow(/no such file/);
  });
});

describe('loadBrokerSecurity', () => {
  it('explains flag combinations that cannot work', async () => {
    await expect(loadBrokerSecurity({ tlsCert: 'a.pem' })).rejects.toThrow(
      /--tls-cert and --tls-key go together/,
    );
    await expect(loadBrokerSecurity({ tlsCa: 'ca.pem' })).rejects.toThrow(/--tls-ca needs a TLS listener/);
    await expect(loadBrokerSecurity({ tlsCert: '/nope.pem', tlsKey: '/nope.key' })).rejects.toThrow(
      /--tls-cert \/nope.pem: cannot read \(no such file\)/,
    );
    const dir = tempDir();
    writeFileSync(join(dir, 'x.pem'), 'hello');
    await expect(
      loadBrokerSecurity({ tlsCert: join(dir, 'x.pem'), tlsKey: join(dir, 'x.pem') }),
    ).rejects.toThrow(/not a PEM file/);
    expect(await loadBrokerSecurity({})).toEqual({});
  });
});
