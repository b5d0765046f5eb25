import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../src/audit/audit-log.js';
import { verifyAuditLog } from '../../src/audit/audit-verify.js';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import {
  type ClipRef,
  initialShareState,
  nextShareDeadline,
  releaseAnswer,
  type ShareEffect,
  type SharePolicyConfig,
  type SharePolicyInput,
  type SharePolicyState,
  stepSharePolicy,
} from '../../src/privacy/share-policy.js';
import {
  type LegalDemand,
  parseLegalDemand,
  parseShareRequest,
  type ShareRequest,
} from '../../src/privacy/share-request.js';

const T0 = Date.UTC(2026, 4, 10, 12, 0, 0);
const MIN = 60_000;
const WINDOW = { from: T0 - 60 * MIN, to: T0 - 30 * MIN };

const clip = (clipId: string, startMin: number, endMin: number): ClipRef => ({
  clipId,
  key: `clips/front/2026/05/10/${clipId}.mp4`,
  startedAt: T0 + startMin * MIN,
  endedAt: T0 + endMin * MIN,
});
const CLIPS: ClipRef[] = [
  clip('before', -90, -80),
  clip('straddles-start', -61, -59),
  { ...clip('inside-b', -40, -39), encrypted: true },
  clip('inside-a', -60, -58), // starts exactly at window.from
  clip('ends-at-edge', -31, -30), // ends exactly at window.to
  clip('straddles-end', -31, -29),
  clip('after', -10, -9),
];

function shareRequest(transaction: string | number = 'tx-1'): ShareRequest {
  return {
    type: 'share',
    requestId: 'req-42',
    requester: { kind: 'requester', identity: 'springfield-pd' },
    reason: 'burglary on Elm St',
    window: WINDOW,
    transaction,
  };
}

function legalDemand(): LegalDemand {
  return {
    type: 'legal-demand',
    requestId: 'legal-7',
    requester: { kind: 'agency', identity: 'springfield-pd' },
    reason: 'preservation order',
    demandRef: 'CASE-2026-0042',
    window: WINDOW,
    transaction: 'tx-legal',
  };
}

/** Runs inputs at given times, collecting every effect. */
function run(config: Partial<SharePolicyConfig>, steps: Array<[number, SharePolicyInput]>) {
  let state: SharePolicyState = initialShareState(config);
  const effects: Array<ShareEffect & { at: number }> = [];
  for (const [at, input] of steps) {
    const step = stepSharePolicy(state, input, at);
    state = step.state;
    effects.push(...step.effects.map((effect) => ({ ...effect, at })));
  }
  return {
    state,
    effects,
    of: <T extends ShareEffect['type']>(type: T) =>
      effects.filter((e) => e.type === type) as Array<Extract<ShareEffect, { type: T }> & { at: number }>,
  };
}

const request = (transaction?: string | number): SharePolicyInput => ({
  type: 'request',
  request: shareRequest(transaction),
  clips: CLIPS,
});
const decide = (decision: 'approve' | 'decline'): SharePolicyInput => ({
  type: 'owner-decision',
  requestId: 'req-42',
  decision,
  clips: CLIPS,
});
const tick: SharePolicyInput = { type: 'tick' };
const TIMEOUT = 15 * MIN;

/** What goes on the wire for the requester: the MQTT response envelope. */
function wire(effect: { data: unknown; transaction?: string | number }): string {
  return JSON.stringify({ status: 'ok', data: effect.data, transaction: effect.transaction });
}
function withoutTransaction(effect: { data: unknown }): string {
  return JSON.stringify({ status: 'ok', data: effect.data });
}

describe('share policy: deny by default', () => {
  it('acknowledges, prompts nobody, releases nothing, answers "no footage" at the deadline', () => {
    const early = run({}, [
      [T0, request()],
      [T0 + TIMEOUT - 1, tick],
    ]);
    expect(early.of('prompt-owner')).toEqual([]);
    expect(early.of('release')).toEqual([]);
    expect(early.of('respond')).toEqual([]);
    expect(early.of('acknowledge')[0]!.data).toEqual({
      requestId: 'req-42',
      received: true,
      answerBy: new Date(T0 + TIMEOUT).toISOString(),
    });
    expect(nextShareDeadline(early.state)).toBe(T0 + TIMEOUT);

    const done = run({}, [
      [T0, request()],
      [T0 + TIMEOUT, tick],
    ]);
    expect(done.of('respond')).toEqual([
      {
        type: 'respond',
        requestId: 'req-42',
        requester: 'springfield-pd',
        transaction: 'tx-1',
        data: { requestId: 'req-42', clips: [] },
        at: T0 + TIMEOUT,
      },
    ]);
    expect(done.of('audit').map((e) => e.entry.type === 'share-decision' && e.entry.decision)).toContain(
      'deny',
    );
    expect(done.state.pending).toEqual([]);
    expect(nextShareDeadline(done.state)).toBeUndefined();
  });
});

describe('share policy: ask', () => {
  it('prompts the owner with the request and an expiry', () => {
    const { of } = run({ policy: 'ask' }, [[T0, request()]]);
    expect(of('prompt-owner')[0]!.prompt).toEqual({
      requestId: 'req-42',
      requester: { kind: 'requester', identity: 'springfield-pd' },
      reason: 'burglary on Elm St',
      window: { from: new Date(WINDOW.from).toISOString(), to: new Date(WINDOW.to).toISOString() },
      clipsInWindow: 3,
      expiresAt: new Date(T0 + TIMEOUT).toISOString(),
    });
  });

  it('approve releases only the clips wholly inside the window, as time-limited links', () => {
    const { of, state } = run({ policy: 'ask', linkTtlMs: 60 * MIN }, [
      [T0, request()],
      [T0 + 5 * MIN, decide('approve')],
    ]);
    const [release] = of('release');
    expect(release!.clips.map((c) => c.clipId)).toEqual(['inside-a', 'inside-b', 'ends-at-edge']);
    expect(release!.expiresAt).toBe(T0 + 65 * MIN);
    expect(release!.transaction).toBe('tx-1');
    const released = of('audit').find((e) => e.entry.type === 'share-release')!.entry;
    expect(released).toMatchObject({ actor: 'owner', clipIds: ['inside-a', 'inside-b', 'ends-at-edge'] });
    expect(of('respond')).toEqual([]);
    expect(state.pending).toEqual([]);

    const answer = releaseAnswer(release!, ['u1', 'u2', 'u3']);
    // The requester is told which links serve an encrypted envelope rather than an MP4.
    expect(answer.clips.map((c) => [c.clipId, c.url, c.encrypted])).toEqual([
      ['inside-a', 'u1', false],
      ['inside-b', 'u2', true],
      ['ends-at-edge', 'u3', false],
    ]);
    expect(answer.clips[0]).toMatchObject({
      startedAt: new Date(CLIPS[3]!.startedAt).toISOString(),
      expiresAt: new Date(T0 + 65 * MIN).toISOString(),
    });
  });

  it('rejects an owner decision after expiry, twice, or for an unknown request', () => {
    const late = run({ policy: 'ask' }, [
      [T0, request()],
      [T0 + TIMEOUT, tick],
      [T0 + TIMEOUT + 1, decide('approve')],
    ]);
    expect(late.of('release')).toEqual([]);
    expect(late.of('reject-decision')).toHaveLength(1);
    const twice = run({ policy: 'ask' }, [
      [T0, request()],
      [T0 + 1, decide('decline')],
      [T0 + 2, decide('approve')],
    ]);
    expect(twice.of('release')).toEqual([]);
    expect(twice.of('reject-decision')[0]!.message).toMatch(/already decided/);
    const unknown = run({ policy: 'ask' }, [[T0, decide('approve')]]);
    expect(unknown.of('reject-decision')[0]!.message).toBe('no pending request req-42');
  });

  it('a timeout withdraws the prompt and records the decision', () => {
    const { of } = run({ policy: 'ask' }, [
      [T0, request()],
      [T0 + TIMEOUT, tick],
    ]);
    expect(of('withdraw-prompt')).toMatchObject([{ requestId: 'req-42', reason: 'expired' }]);
    expect(of('audit').some((e) => e.entry.type === 'share-decision' && e.entry.decision === 'timeout')).toBe(
      true,
    );
  });
});

describe('share policy: nobody can tell who declined', () => {
  const scenarios: Record<string, (transaction: string | number) => ReturnType<typeof run>> = {
    deny: (t) =>
      run({}, [
        [T0, request(t)],
        [T0 + TIMEOUT, tick],
      ]),
    'opt-out': (t) =>
      run({ policy: 'ask', optedOut: true }, [
        [T0, request(t)],
        [T0 + TIMEOUT, tick],
      ]),
    decline: (t) =>
      run({ policy: 'ask' }, [
        [T0, request(t)],
        [T0 + MIN, decide('decline')],
        [T0 + TIMEOUT, tick],
      ]),
    timeout: (t) =>
      run({ policy: 'ask' }, [
        [T0, request(t)],
        [T0 + TIMEOUT, tick],
      ]),
    'approve, nothing in window': (t) =>
      run({ policy: 'ask' }, [
        [T0, request(t)],
        [
          T0 + MIN,
          {
            type: 'owner-decision',
            requestId: 'req-42',
            decision: 'approve',
            clips: [clip('after', -10, -9)],
          },
        ],
        [T0 + TIMEOUT, tick],
      ]),
    'opted out while the prompt was open': (t) =>
      run({ policy: 'ask' }, [
        [T0, request(t)],
        [T0 + MIN, { type: 'configure', config: { optedOut: true } }],
        [T0 + TIMEOUT, tick],
      ]),
  };

  it('every refusal sends byte-identical acknowledgements and answers, at the same time, apart from the transaction', () => {
    const outcomes = Object.entries(scenarios).map(([name, scenario], i) => {
      const { of } = scenario(`tx-${i}`);
      expect(of('release'), name).toEqual([]);
      const [ack] = of('acknowledge');
      const responds = of('respond');
      expect(responds, name).toHaveLength(1);
      expect(wire(responds[0]!), name).toContain(`"transaction":"tx-${i}"`);
      return {
        name,
        ack: withoutTransaction(ack!),
        answer: withoutTransaction(responds[0]!),
        at: responds[0]!.at,
      };
    });
    for (const outcome of outcomes) {
      expect(outcome.ack, outcome.name).toBe(outcomes[0]!.ack);
      expect(outcome.answer, outcome.name).toBe(outcomes[0]!.answer);
      expect(outcome.at, outcome.name).toBe(T0 + TIMEOUT);
    }
    expect(outcomes[0]!.answer).toBe('{"status":"ok","data":{"requestId":"req-42","clips":[]}}');
  });

  it('records which refusal it was in the audit log (for the owner, not the requester)', () => {
    const decisions = Object.entries(scenarios).map(([, scenario]) =>
      scenario('t')
        .of('audit')
        .flatMap((e) => (e.entry.type === 'share-decision' ? [e.entry.decision] : [])),
    );
    expect(decisions).toEqual([['deny'], ['opt-out'], ['decline'], ['timeout'], ['approve'], ['opt-out']]);
  });
});

describe('share policy: other rules', () => {
  it('opt-out refuses even with policy allow; allow otherwise releases in-window clips at once', () => {
    const refused = run({ policy: 'allow', optedOut: true }, [[T0, request()]]);
    expect(refused.of('release')).toEqual([]);
    const allowed = run({ policy: 'allow' }, [[T0, request()]]);
    expect(allowed.of('release')[0]!.clips.map((c) => c.clipId)).toEqual([
      'inside-a',
      'inside-b',
      'ends-at-edge',
    ]);
    expect(allowed.of('audit').find((e) => e.entry.type === 'share-release')!.entry.actor).toBe('policy');
  });

  it('rejects a duplicate pending request and too many pending requests', () => {
    const dup = run({ policy: 'ask' }, [
      [T0, request('a')],
      [T0 + 1, request('b')],
    ]);
    expect(dup.of('reject-request')).toMatchObject([{ code: 'duplicate-request', transaction: 'b' }]);
    expect(dup.of('prompt-owner')).toHaveLength(1);
    const other = { kind: 'requester' as const, identity: 'flat-3' };
    const busy = run({ policy: 'ask', maxPending: 1 }, [
      [T0, request()],
      [
        T0,
        { type: 'request', request: { ...shareRequest(), requestId: 'req-43', requester: other }, clips: [] },
      ],
    ]);
    expect(busy.of('reject-request')).toMatchObject([{ requestId: 'req-43', code: 'busy' }]);
  });

  it("one requester has one request pending at a time, under every policy, and its flood leaves room for others'", () => {
    const from = (identity: string, requestId: string): SharePolicyInput => ({
      type: 'request',
      request: { ...shareRequest(requestId), requestId, requester: { kind: 'requester', identity } },
      clips: [],
    });
    for (const policy of ['deny', 'ask', 'allow'] as const) {
      const flood = Array.from({ length: 20 }, (_, i): [number, SharePolicyInput] => [
        T0,
        from('mallory', `m-${i}`),
      ]);
      const { of } = run({ policy }, [...flood, [T0 + 1, from('alice', 'a-1')]]);
      const rejected = of('reject-request');
      expect(rejected.map((r) => r.requestId)).toEqual(
        flood.slice(1).map(([, input]) => (input as { request: { requestId: string } }).request.requestId),
      );
      expect(new Set(rejected.map((r) => r.code))).toEqual(new Set(['busy']));
      expect(of('acknowledge').map((a) => a.requestId)).toEqual(['m-0', 'a-1']);
      if (policy === 'ask')
        expect(of('prompt-owner').map((p) => p.prompt.requester.identity)).toEqual(['mallory', 'alice']);
    }
  });

  it('a legal demand holds every clip overlapping the window, is recorded, and releases nothing', () => {
    for (const config of [{}, { policy: 'allow' as const }, { optedOut: true }]) {
      const { of, state } = run(config, [
        [T0, { type: 'request', request: legalDemand(), clips: CLIPS }],
        [T0 + TIMEOUT, tick],
      ]);
      const [hold] = of('hold');
      expect(hold!.demandRef).toBe('CASE-2026-0042');
      expect(hold!.clips.map((c) => c.clipId)).toEqual([
        'straddles-start',
        'inside-a',
        'inside-b',
        'ends-at-edge',
        'straddles-end',
      ]);
      expect(hold!.clips[0]!.key).toBe('clips/front/2026/05/10/straddles-start.mp4');
      expect(of('release')).toEqual([]);
      expect(of('respond')).toEqual([]);
      expect(of('prompt-owner')).toEqual([]);
      expect(of('notify-owner')[0]!.notice.clipIds).toHaveLength(5);
      expect(of('acknowledge')[0]!.data).toEqual({
        requestId: 'legal-7',
        demandRef: 'CASE-2026-0042',
        hold: 'recorded',
      });
      expect(of('audit').map((e) => e.entry.type)).toEqual(['share-request', 'legal-hold']);
      expect(state.pending).toEqual([]);
    }
  });

  it('audit entries from a full exchange append to a chain that verifies', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'share-audit-'));
    try {
      const clock = new VirtualClock(T0);
      const log = new AuditLog({ path: join(dir, 'audit.jsonl'), clock, fsync: false });
      const { of } = run({ policy: 'ask' }, [
        [T0, request()],
        [T0 + MIN, decide('approve')],
        [T0 + MIN, { type: 'request', request: legalDemand(), clips: CLIPS }],
      ]);
      const records = await log.appendAll(of('audit').map((e) => e.entry));
      await log.stop();
      expect(records.map((r) => r.type)).toEqual([
        'share-request',
        'share-decision',
        'share-release',
        'share-request',
        'legal-hold',
      ]);
      expect(await verifyAuditLog(join(dir, 'audit.jsonl'))).toMatchObject({ ok: true, records: 5 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('share request parsing', () => {
  const args = {
    requestId: 'req-1',
    reason: 'parcel went missing',
    window: { from: '2026-05-10T10:00:00Z', to: '2026-05-10T11:00:00Z' },
  };
  const from = { user: 'flat-3' };

  it('accepts a valid request, the requester being the broker user it came from, and carries the transaction', () => {
    const parsed = parseShareRequest(args, { ...from, transaction: 7 });
    expect(parsed).toEqual({
      ok: true,
      request: {
        type: 'share',
        ...args,
        requester: { kind: 'requester', identity: 'flat-3' },
        window: { from: Date.UTC(2026, 4, 10, 10), to: Date.UTC(2026, 4, 10, 11) },
        transaction: 7,
      },
    });
  });

  it('names the field and problem for bad requests', () => {
    const backwards = parseShareRequest(
      { ...args, window: { from: args.window.to, to: args.window.from } },
      from,
    );
    expect(backwards).toEqual({
      ok: false,
      error: expect.stringMatching(/^window: from .* must be before to/),
    });
    const tooLong = parseShareRequest(
      { ...args, window: { from: '2026-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' } },
      from,
    );
    expect(tooLong).toMatchObject({ ok: false, error: expect.stringMatching(/at most 168 h/) });
    expect(parseShareRequest({ ...args, extra: 1 }, from)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/extra/),
    });
    expect(parseShareRequest({ ...args, reason: 'a\u0007b' }, from)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^reason/),
    });
  });

  it('refuses a self-declared requester: who asks is the broker login, not the payload', () => {
    const forged = { ...args, demandRef: 'X-1', requester: { kind: 'agency', identity: 'City Police' } };
    for (const parsed of [parseShareRequest(forged, from), parseLegalDemand(forged, from)]) {
      expect(parsed).toEqual({
        ok: false,
        error: expect.stringMatching(/^requester: not taken from the payload/),
      });
    }
  });

  it('a legal demand needs a demand reference, and its requester is an agency', () => {
    expect(parseLegalDemand(args, from)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/demandRef/),
    });
    expect(parseLegalDemand({ ...args, demandRef: 'CASE-1' }, { user: 'city-police' })).toMatchObject({
      ok: true,
      request: {
        type: 'legal-demand',
        demandRef: 'CASE-1',
        requester: { kind: 'agency', identity: 'city-police' },
      },
    });
  });
});
