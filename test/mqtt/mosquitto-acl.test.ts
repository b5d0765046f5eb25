import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOPIC_CATALOG } from '../../src/contract/catalog.js';
import { canReceive, topicMatches } from '../../src/mqtt/acl.js';
import type { UsersFile } from '../../src/mqtt/auth.js';
import { mosquittoAcl } from '../../src/mqtt/mosquitto-acl.js';
import { runInProcess } from '../helpers/cli.js';
import { REPO_ROOT, tempDir } from '../helpers/mqtt.js';

const HASH = '$scrypt$ln=15,r=8,p=3$c2FsdA==$aGFzaA==';
const SAMPLE = {
  users: [
    { username: 'dev-front', role: 'device', deviceId: 'front-door', passwordHash: HASH },
    { username: 'kim', role: 'owner', devices: ['front-door'], passwordHash: HASH },
    { username: 'ha', role: 'integrator', passwordHash: HASH },
    { username: 'neighbour-12', role: 'requester', passwordHash: HASH },
    { username: 'city-police', role: 'agency', passwordHash: HASH },
    { username: 'root', role: 'admin', passwordHash: HASH },
  ],
} as UsersFile;
const scope = { prefix: 'doorbell', discoveryPrefix: 'homeassistant' };

describe('the generated mosquitto ACL', () => {
  it('docs/security.md shows what the generator makes for its sample users', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/security.md'), 'utf8');
    const block = /<!-- mosquitto-acl:begin -->\n```text\n([\s\S]*?)```\n<!-- mosquitto-acl:end -->/.exec(
      doc,
    );
    expect(block?.[1]).toBe(mosquittoAcl(SAMPLE, scope));
  });

  it('gives requesters and agencies their namespace only, integrators no share traffic and no $SYS', () => {
    const blocks = Object.fromEntries(
      mosquittoAcl(SAMPLE, scope)
        .split('\n\n')
        .filter((block) => block.startsWith('user '))
        .map((block) => [block.split('\n')[0]!.slice(5), block.split('\n').slice(1)]),
    );
    expect(blocks['neighbour-12']).toEqual([
      'topic read doorbell/+/requester/neighbour-12/#',
      'topic write doorbell/+/requester/neighbour-12/request/share',
    ]);
    expect(blocks['city-police']).toContain(
      'topic write doorbell/+/requester/city-police/request/legal-demand',
    );
    const ha = (blocks['ha'] as string[]).join('\n');
    expect(ha).not.toMatch(/share|legal-demand|owner|config-|\$SYS|doorbell\/#|topic read #/);
    expect(ha).toContain('topic read doorbell/+/requester/ha/#');
    expect(blocks['root']).toContain('topic read $SYS/#');
  });

  it('lets an integrator read every topic of the catalog the embedded broker delivers to it', () => {
    const ha = mosquittoAcl(SAMPLE, scope)
      .split('\n\n')
      .find((block) => block.startsWith('user ha\n'))!
      .split('\n')
      .flatMap((line) => (line.startsWith('topic read ') ? [line.slice('topic read '.length)] : []));
    const integrator = { role: 'integrator' as const, username: 'ha' };
    const concrete = TOPIC_CATALOG.filter((entry) => entry.direction === 'publish').map((entry) =>
      entry.pattern
        .replace('{prefix}', 'doorbell')
        .replace('{discoveryPrefix}', 'homeassistant')
        .replace('{id}', 'front-door')
        .replace('{user}', 'ha')
        .replace('{command}', entry.command ?? 'press')
        .replace('{component}', 'event')
        .replace('{objectId}', 'ring'),
    );
    const readable = concrete.filter((topic) => canReceive(integrator, topic, scope));
    expect(readable).toEqual(expect.arrayContaining(['doorbell/front-door/motion/attributes']));
    for (const topic of readable) {
      expect(
        ha.some((filter) => topicMatches(filter, topic)),
        `${topic}: delivered by the embedded broker, not readable with the mosquitto ACL`,
      ).toBe(true);
    }
  });

  it('`doorbell auth mosquitto-acl FILE` prints it; a bad prefix is one line, exit 2', async () => {
    const dir = tempDir();
    const file = join(dir, 'users.json');
    writeFileSync(file, JSON.stringify(SAMPLE));
    const printed = await runInProcess(['auth', 'mosquitto-acl', file]);
    expect(printed).toMatchObject({ code: 0, stdout: mosquittoAcl(SAMPLE, scope) });
    const bad = await runInProcess(['auth', 'mosquitto-acl', file, '--prefix', 'door/#']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'doorbell auth: --prefix "door/#": topic levels of A-Z a-z 0-9 _ - separated by /\n',
    );
  });
});
