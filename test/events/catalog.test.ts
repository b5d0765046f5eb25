import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { type Diagnostic, DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { command as schemaCommand } from '../../src/cli/commands/schema.js';
import { asyncApiDocument, eventsJsonSchema } from '../../src/events/asyncapi.js';
import {
  checkMessage,
  decodePayload,
  findTopic,
  payloadSchemaForTopic,
  schemaOf,
  TOPIC_CATALOG,
} from '../../src/events/catalog.js';
import { renderMqttDocs } from '../../src/events/catalog-docs.js';
import { CommandArgs } from '../../src/events/commands.js';
import { REPO_ROOT } from '../helpers/mqtt.js';

const prefixes = { prefix: 'doorbell' };

function encode(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
}

async function runSchema(args: string[]): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await schemaCommand.run(args, {
    stdout,
    stderr: new PassThrough(),
    stdin: Readable.from([]),
    env: {},
    cwd: REPO_ROOT,
  });
  return { code, out };
}

describe('topic catalog', () => {
  it('has a request entry for every command and unique names', () => {
    const names = TOPIC_CATALOG.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const command of Object.keys(CommandArgs)) {
      expect(
        TOPIC_CATALOG.some((e) => e.command === command && e.direction === 'subscribe'),
        command,
      ).toBe(true);
    }
  });

  it('every example payload passes its own schema, through the wire encoding', () => {
    for (const entry of TOPIC_CATALOG) {
      if (entry.payload.format === 'binary') continue;
      const topic = entry.pattern
        .replace('{prefix}', 'doorbell')
        .replace('{discoveryPrefix}', 'homeassistant')
        .replace('{id}', 'front-door')
        .replace('{user}', 'neighbour-12')
        .replace('{command}', 'press')
        .replace('{component}', 'binary_sensor')
        .replace('{objectId}', 'motion');
      const result = checkMessage(topic, encode(entry.payload.example), prefixes);
      expect(result, entry.name).toMatchObject({ ok: true, entry: { name: entry.name } });
    }
  });

  it('finds the entry for a concrete topic; literal request topics win over {command}', () => {
    expect(findTopic('doorbell/front-door/request/press', prefixes)?.entry.name).toBe('requestPress');
    expect(findTopic('doorbell/front-door/response/press', prefixes)).toMatchObject({
      entry: { name: 'response' },
      params: { id: 'front-door', command: 'press' },
    });
    expect(findTopic('doorbell/front-door/request/explode', prefixes)).toBeUndefined();
    expect(findTopic('doorbell/Front Door/state', prefixes)).toBeUndefined();
    expect(findTopic('other/front-door/state', prefixes)).toBeUndefined();
    expect(findTopic('acme/bells/x/state', { prefix: 'acme/bells' })?.entry.name).toBe('state');
    expect(findTopic('ha/status', { prefix: 'doorbell', discoveryPrefix: 'ha' })?.entry.name).toBe(
      'homeAssistantStatus',
    );
    expect(findTopic('homeassistant/event/front-door/ring/config', prefixes)?.entry.name).toBe(
      'homeAssistantDiscovery',
    );
  });

  it('payloadSchemaForTopic rejects what the contract forbids', () => {
    const ding = payloadSchemaForTopic('doorbell', 'doorbell/front-door/events/ding')!;
    expect(
      ding.safeParse({
        v: 1,
        id: 'x',
        seq: 1,
        deviceId: 'front-door',
        at: 'yesterday',
        event_type: 'ring',
        source: 'button',
      }).success,
    ).toBe(false);
    const snapshot = payloadSchemaForTopic('doorbell', 'doorbell/front-door/snapshot')!;
    expect(snapshot.safeParse(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0xff, 0xd9])).success).toBe(true);
    expect(snapshot.safeParse(Buffer.from('not a jpeg')).success).toBe(false);
    const availability = payloadSchemaForTopic('doorbell', 'doorbell/front-door/availability')!;
    expect(availability.safeParse('online').success).toBe(true);
    expect(availability.safeParse('ONLINE').success).toBe(false);
    expect(payloadSchemaForTopic('doorbell', 'doorbell/front-door/nope')).toBeUndefined();
  });

  it('decodes an empty request as {} and reports JSON errors with the topic', () => {
    const press = findTopic('doorbell/d/request/press', prefixes)!.entry;
    expect(decodePayload(press, Buffer.alloc(0))).toEqual({ ok: true, value: {} });
    expect(
      checkMessage('doorbell/d/request/press', Buffer.from('{"source":"ghost"}'), prefixes),
    ).toMatchObject({
      ok: false,
      error: expect.stringContaining('source'),
    });
    expect(checkMessage('doorbell/d/state', Buffer.from('{'), prefixes)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^doorbell\/d\/state: not JSON/),
    });
    expect(schemaOf(press.payload).safeParse({ source: 'cli', transaction: 'x'.repeat(129) }).success).toBe(
      false,
    );
  });
});

describe('AsyncAPI document', () => {
  it('parses with @asyncapi/parser without errors or warnings', async () => {
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(asyncApiDocument()));
    const serious = diagnostics.filter(
      (d: Diagnostic) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
    );
    expect(serious.map((d) => `${d.code}: ${d.message} at ${d.path.join('.')}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.channels().length).toBe(TOPIC_CATALOG.length);
    const press = document!.operations().get('receiveRequestPress')!;
    expect(press.action()).toBe('receive');
    expect(press.bindings().get('mqtt')?.value()).toMatchObject({ qos: 1, retain: false });
    expect(document!.operations().get('sendState')!.bindings().get('mqtt')?.value()).toMatchObject({
      retain: true,
    });
  });

  it('the parser does catch a broken document (so "no errors" above means something)', async () => {
    const doc = asyncApiDocument() as {
      channels: Record<string, unknown>;
      operations: Record<string, { action: string }>;
    };
    delete doc.channels['state'];
    doc.operations['receiveRequestPress']!.action = 'publish';
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    expect(document).toBeUndefined();
    const errors = diagnostics
      .filter((d) => d.severity === DiagnosticSeverity.Error)
      .map((d) => d.path.join('.'));
    expect(errors.some((path) => path.includes('sendState'))).toBe(true);
    expect(errors.some((path) => path.includes('receiveRequestPress'))).toBe(true);
  });

  it('channel addresses follow the catalog and honour the prefixes', () => {
    const doc = asyncApiDocument({ prefix: 'acme/bells', discoveryPrefix: 'ha' }) as {
      channels: Record<string, { address: string; parameters?: Record<string, unknown> }>;
    };
    expect(doc.channels['state']).toMatchObject({
      address: 'acme/bells/{deviceId}/state',
      parameters: { deviceId: expect.any(Object) },
    });
    expect(doc.channels['response']!.address).toBe('acme/bells/{deviceId}/response/{command}');
    expect(doc.channels['homeAssistantStatus']!.address).toBe('ha/status');
    expect(doc.channels['homeAssistantStatus']!.parameters).toBeUndefined();
  });
});

describe('generated artefacts', () => {
  it('docs/mqtt.md is what the generator makes now (regenerate: npx tsx src/cli/main.ts schema docs > docs/mqtt.md)', () => {
    const committed = readFileSync(join(REPO_ROOT, 'docs/mqtt.md'), 'utf8');
    expect(committed).toBe(renderMqttDocs());
    for (const entry of TOPIC_CATALOG) expect(committed).toContain(`\`${entry.pattern}\``);
  });

  it('docs/asyncapi.json is current (regenerate: npx tsx src/cli/main.ts schema asyncapi > docs/asyncapi.json)', () => {
    const committed = readFileSync(join(REPO_ROOT, 'docs/asyncapi.json'), 'utf8');
    expect(JSON.parse(committed)).toEqual(asyncApiDocument());
  });

  it('doorbell schema events|asyncapi|docs print the generated documents', async () => {
    const events = await runSchema(['events']);
    expect(events.code).toBe(0);
    expect(JSON.parse(events.out)).toEqual(eventsJsonSchema());
    expect(Object.keys(JSON.parse(events.out).$defs)).toEqual(TOPIC_CATALOG.map((e) => e.name));
    const asyncapi = await runSchema(['asyncapi', '--prefix', 'acme']);
    expect(JSON.parse(asyncapi.out)).toEqual(asyncApiDocument({ prefix: 'acme' }));
    expect((await runSchema(['docs'])).out).toBe(renderMqttDocs());
    await expect(runSchema(['asyncapi', '--prefix', 'a/#'])).rejects.toThrow(/--prefix "a\/#"/);
    await expect(runSchema(['nope'])).rejects.toThrow(
      /which schema\? one of: profile, scenario, events, asyncapi, docs/,
    );
    await expect(runSchema(['__proto__'])).rejects.toThrow(/which schema/);
  });
});
