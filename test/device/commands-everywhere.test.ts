import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { RealClock } from '../../src/clock/real-clock.js';
import { loadProfile } from '../../src/config/load-profile.js';
import { DeviceProfileSchema } from '../../src/config/profile.js';
import { type CommandName, CommandResults } from '../../src/contract/commands.js';
import { type CommandResponse, ResponseSchema } from '../../src/events/schemas.js';
import { FleetDevice } from '../../src/fleet/fleet-device.js';
import { silentLogger } from '../../src/log/logger.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { BrokerConnectionSchema } from '../../src/mqtt/connection.js';
import { startAgent } from '../helpers/agent.js';
import { type Recorder, spawnCli, subscriber } from '../helpers/mqtt.js';

const WINDOW = { from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T11:00:00.000Z' };
const ASK = { requestId: 'r1', reason: 'a parcel went missing', window: WINDOW };

interface Step {
  command: string;
  body: Record<string, unknown> | string;
  /** Sent from this broker user's namespace (`requester/<as>/request/<command>`), answered in it. */
  as?: string;
  /** Sends nothing: waits for the final answer to the request sent at that step (same transaction). */
  answerOf?: number;
}

/** The same requests, in the same order, for every kind of device. */
const SCRIPT: Step[] = [
  { command: 'state', body: {} },
  { command: 'press', body: { source: 'homeassistant' } },
  { command: 'press', body: { source: 'martian' } },
  { command: 'press', body: { source: 'mqtt', volume: 11 } },
  { command: 'snapshot', body: {} },
  { command: 'motion', body: { enabled: false } },
  { command: 'motion', body: { enabled: 'yes' } },
  { command: 'sensitivity', body: { sensitivity: 'high' } },
  { command: 'sensitivity', body: { sensitivity: 'extreme' } },
  { command: 'config-set', body: { patch: { retentionDays: 30 } } },
  { command: 'config-set', body: { patch: { retentionDays: -1 } } },
  { command: 'config-set', body: { patch: { model: 'fake' } } },
  { command: 'config-get', body: {} },
  { command: 'share-policy', body: { policy: 'ask' } },
  { command: 'share-policy', body: { policy: 'sometimes' } },
  { command: 'config-set', body: { patch: { privacy: { sharing: { consentTimeoutMs: 3000 } } } } },
  { command: 'share', body: ASK },
  { command: 'share', body: ASK, as: 'neighbour-12' },
  { command: 'share', body: { ...ASK, requestId: 'r2' }, as: 'neighbour-12' },
  { command: 'share', body: { ...ASK, requestId: 'r3', requester: 'someone-else' }, as: 'neighbour-7' },
  { command: 'share-decision', body: { requestId: 'r1', decision: 'approve' } },
  { command: 'share-decision', body: { requestId: 'nobody', decision: 'decline' } },
  { command: 'share', body: {}, answerOf: 17 },
  { command: 'legal-demand', body: { ...ASK, requestId: 'd1', demandRef: 'case-42' }, as: 'city-police' },
  { command: 'legal-demand', body: { ...ASK, requestId: 'd2' }, as: 'city-police' },
  { command: 'state', body: {} },
  { command: 'explode', body: {} },
  { command: 'state', body: '{"oops' },
  { command: 'reboot', body: {} },
  { command: 'press', body: {} },
];

/** Fields that describe this device and this moment rather than how it answers. */
function comparable(response: CommandResponse): unknown {
  const { transaction: _transaction, ...rest } = response;
  if (rest.data && typeof rest.data === 'object' && 'uptimeS' in rest.data) {
    const {
      at: _at,
      uptimeS: _uptime,
      rssi: _rssi,
      deviceId: _id,
      ...state
    } = rest.data as Record<string, unknown>;
    return { ...rest, data: { ...state, lastDingAt: state['lastDingAt'] === null ? null : 'a time' } };
  }
  if (rest.data && typeof rest.data === 'object' && 'answerBy' in rest.data)
    return { ...rest, data: { ...rest.data, answerBy: 'a time' } };
  return rest;
}

interface DeviceUnderTest {
  id: string;
  stop(): Promise<void>;
}

describe('one contract: an agent device and a fleet device answer every command alike', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  const devices: Record<'agent' | 'fleet', DeviceUnderTest | undefined> = {
    agent: undefined,
    fleet: undefined,
  };
  const answers: Record<string, CommandResponse[]> = {};
  let client: Recorder;

  async function startFleetDevice(id: string): Promise<DeviceUnderTest> {
    const loaded = await loadProfile('wired-1080p');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const { video: _video, ...base } = loaded.value.profile;
    const device = new FleetDevice({
      deviceId: id,
      profile: DeviceProfileSchema.parse(base),
      clock: new RealClock(),
      connection: BrokerConnectionSchema.parse({ url: broker.url, reconnectPeriodMs: 200 }),
      logger: silentLogger(),
      ringEveryMs: 0,
      bootMs: 50,
    });
    await device.start();
    return { id, stop: () => device.stop() };
  }

  async function ask(id: string, { command, body, as, answerOf }: Step, n: number) {
    const root = as === undefined ? `doorbell/${id}` : `doorbell/${id}/requester/${as}`;
    if (answerOf !== undefined) {
      // The final answer comes on the same transaction as the acknowledgement, once the policy has decided.
      const transaction = JSON.stringify(`${id}-${answerOf}`);
      const asker = SCRIPT[answerOf]!.as;
      const reply = await client.waitForTopic(
        `doorbell/${id}/requester/${asker}/response/${command}`,
        (text) => text.includes(transaction) && text.includes('"clips"'),
        10_000,
      );
      return ResponseSchema.parse(JSON.parse(reply.text));
    }
    const transaction = JSON.stringify(`${id}-${n}`);
    const payload = typeof body === 'string' ? body : JSON.stringify({ ...body, transaction: `${id}-${n}` });
    if (typeof body === 'string') client.clear();
    await client.client.publishAsync(`${root}/request/${command}`, payload, { qos: 1 });
    const reply = await client.waitForTopic(
      `${root}/response/${command}`,
      (text) => typeof body === 'string' || text.includes(transaction),
    );
    return ResponseSchema.parse(JSON.parse(reply.text));
  }

  beforeAll(async () => {
    await broker.start();
    client = await subscriber(broker.url, ['doorbell/+/response/+', 'doorbell/+/requester/+/response/+']);
    const agent: Agent = await startAgent(broker.url, 'contract-agent');
    devices.agent = { id: 'contract-agent', stop: () => agent.stop() };
    devices.fleet = await startFleetDevice('contract-fleet');
    const availability = await subscriber(broker.url, 'doorbell/+/availability');
    await availability.waitFor(
      (ms) =>
        ['contract-agent', 'contract-fleet'].every((id) =>
          ms.some((m) => m.topic.includes(id) && m.text === 'online'),
        ),
      10_000,
      'both devices online',
    );
    for (const kind of ['agent', 'fleet'] as const) {
      const { id } = devices[kind]!;
      answers[kind] = [];
      let rebootedAt = 0;
      for (const [n, step] of SCRIPT.entries()) {
        if (step.command === 'reboot') rebootedAt = availability.messages.length;
        // After the reboot, the next press waits until the device is back: offline, then online again.
        if (step.command === 'press' && n === SCRIPT.length - 1) {
          await availability.waitFor(
            (ms) => {
              const since = ms.slice(rebootedAt).filter((m) => m.topic === `doorbell/${id}/availability`);
              return since.some((m) => m.text === 'offline') && since.at(-1)?.text === 'online';
            },
            10_000,
            `${id} back online after the reboot`,
          );
        }
        answers[kind].push(await ask(id, step, n));
      }
    }
    await availability.client.endAsync();
  }, 60_000);

  afterAll(async () => {
    await client?.client.endAsync();
    await devices.agent?.stop();
    await devices.fleet?.stop();
    await broker.stop();
  });

  it('every command in the script is answered by both', () => {
    expect(answers['agent']).toHaveLength(SCRIPT.length);
    expect(answers['fleet']).toHaveLength(SCRIPT.length);
  });

  for (const [n, step] of SCRIPT.entries()) {
    const body = typeof step.body === 'string' ? step.body : JSON.stringify(step.body);
    const what = step.answerOf === undefined ? body : `final answer of #${step.answerOf}`;
    it(`#${n} ${step.as === undefined ? '' : `${step.as}: `}${step.command} ${what}`, () => {
      expect(comparable(answers['fleet']![n]!)).toEqual(comparable(answers['agent']![n]!));
    });
  }

  it("every ok answer's data fits the command's response schema in the contract", () => {
    for (const kind of ['agent', 'fleet']) {
      for (const [n, step] of SCRIPT.entries()) {
        const answer = answers[kind]![n]!;
        if (answer.status !== 'ok') continue;
        const schema = CommandResults[step.command as CommandName];
        expect(schema.safeParse(answer.data).error, `${kind} #${n} ${step.command}`).toBeUndefined();
      }
    }
  });

  it("footage requests: taken only in the asker's namespace, one pending per asker, the final answer no clips", () => {
    const fleet = answers['fleet']!;
    const at = (command: string, n = 0) =>
      fleet[SCRIPT.findIndex((step, i) => i >= n && step.command === command && step.as !== undefined)]!;
    expect(fleet[16]).toMatchObject({ status: 'error', error: { code: 'requester-namespace-required' } });
    expect(at('share')).toMatchObject({ status: 'ok', data: { requestId: 'r1', received: true } });
    expect(fleet[18]).toMatchObject({ status: 'error', error: { code: 'busy' } });
    expect(fleet[19]).toMatchObject({ status: 'error', error: { code: 'invalid-arguments' } });
    expect(fleet[20]).toMatchObject({ status: 'ok', data: { ok: true } });
    expect(fleet[21]).toMatchObject({ status: 'error', error: { code: 'unknown-request' } });
    expect(fleet[22]).toMatchObject({ status: 'ok', data: { requestId: 'r1', clips: [] } });
    expect(at('legal-demand')).toMatchObject({ status: 'ok', data: { requestId: 'd1', hold: 'recorded' } });
    expect(fleet[24]).toMatchObject({ status: 'error', error: { code: 'invalid-arguments' } });
  });

  it('a press answers {rang, seq} and a refused one {rang: false, reason}', () => {
    expect(answers['fleet']![1]).toMatchObject({ status: 'ok', data: { rang: true, seq: 1 } });
    expect(answers['fleet']![2]).toMatchObject({ status: 'error', error: { code: 'invalid-arguments' } });
    expect(answers['fleet']![2]!.error!.message).toContain('source');
  });

  it('the state of both has the queue depths', () => {
    for (const kind of ['agent', 'fleet']) {
      expect(answers[kind]![0]!.data).toMatchObject({ queues: { outbox: expect.any(Number), uploads: 0 } });
    }
  });

  it('`doorbell press` against a fleet device exits 0 when it rang', async () => {
    const availability = await subscriber(broker.url, 'doorbell/contract-cli/availability');
    const device = await startFleetDevice('contract-cli');
    try {
      // Online means booted and answering: a press before that is refused.
      await availability.waitFor((ms) => ms.at(-1)?.text === 'online', 10_000, 'contract-cli online');
      await availability.client.endAsync();
      const run = spawnCli(['press', '--id', 'contract-cli', '--broker', broker.url]);
      expect(await run.exited, run.output()).toBe(0);
      expect(run.output()).toContain('"rang":true');
    } finally {
      await device.stop();
    }
  }, 20_000);
});
