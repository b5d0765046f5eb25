import { describe, expect, it } from 'vitest';
import { CommandError, dispatchRequest, parseRequest } from '../../src/mqtt/requests.js';
import { parseTopic } from '../../src/mqtt/topics.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('request parsing and dispatch', () => {
  const table = {
    echo: (args: Record<string, unknown>) => args,
    fail: () => {
      throw new CommandError('nope', 'refused on purpose');
    },
    crash: () => {
      throw new Error('boom');
    },
  };

  it('an empty body is no arguments; transaction is split off and echoed', async () => {
    expect(parseRequest(bytes(''))).toEqual({ ok: true, request: { args: {}, transaction: undefined } });
    expect(await dispatchRequest(table, 'echo', bytes('{"a":1,"transaction":"t1"}'))).toEqual({
      status: 'ok',
      data: { a: 1 },
      transaction: 't1',
    });
  });

  it('handler errors become error responses, coded or internal', async () => {
    expect(await dispatchRequest(table, 'fail', bytes('{"transaction":2}'))).toEqual({
      status: 'error',
      error: { code: 'nope', message: 'refused on purpose' },
      transaction: 2,
    });
    expect(await dispatchRequest(table, 'crash', bytes('{}'))).toMatchObject({
      status: 'error',
      error: { code: 'internal' },
    });
  });

  it('rejects oversize, non-object and bad-transaction bodies; unknown commands list the known ones', async () => {
    expect(await dispatchRequest(table, 'echo', new Uint8Array(64 * 1024 + 1))).toMatchObject({
      error: { code: 'payload-too-large' },
    });
    expect(await dispatchRequest(table, 'echo', bytes('"hi"'))).toMatchObject({
      error: { code: 'invalid-request' },
    });
    expect(await dispatchRequest(table, 'echo', bytes('{"transaction":{"x":1}}'))).toMatchObject({
      error: { code: 'invalid-request' },
    });
    const unknown = await dispatchRequest(table, 'nosuch', bytes('{"transaction":"t"}'));
    expect(unknown).toMatchObject({ status: 'error', transaction: 't', error: { code: 'unknown-command' } });
    expect(unknown?.error?.message).toContain('crash, echo, fail');
  });

  it('does not consult inherited properties as commands', async () => {
    expect(await dispatchRequest(table, 'constructor', bytes('{}'))).toMatchObject({
      error: { code: 'unknown-command' },
    });
  });

  it('answers a misspelt command name as unknown, and ignores only names too long to answer on', async () => {
    expect(await dispatchRequest(table, 'Press', bytes('{"transaction":1}'))).toMatchObject({
      status: 'error',
      error: { code: 'unknown-command' },
      transaction: 1,
    });
    expect(await dispatchRequest(table, 'Bad Name', bytes('{}'))).toMatchObject({
      error: { code: 'unknown-command' },
    });
    expect(await dispatchRequest(table, 'x'.repeat(65), bytes('{}'))).toBeUndefined();
  });
});

describe('topic parsing', () => {
  it('classifies requests, other device topics, invalid ids and foreign topics', () => {
    expect(parseTopic('doorbell', 'doorbell/front/request/press')).toEqual({
      kind: 'request',
      deviceId: 'front',
      command: 'press',
    });
    expect(parseTopic('doorbell', 'doorbell/front/events/ding')).toMatchObject({ kind: 'other' });
    expect(parseTopic('doorbell', 'doorbell/Front Door/request/press')).toMatchObject({
      kind: 'invalid-device',
    });
    expect(parseTopic('doorbell', 'doorbell/../request/press')).toMatchObject({ kind: 'invalid-device' });
    expect(parseTopic('doorbell', 'homeassistant/status')).toEqual({ kind: 'outside' });
  });
});
