import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.js';
import { consoleBackend } from '../../src/agent/console-backend.js';
import { verifyAuditLog } from '../../src/audit/audit-verify.js';
import { EmbeddedBroker } from '../../src/mqtt/broker.js';
import { sweepRetention } from '../../src/retention/sweep.js';
import { FsBucket } from '../../src/storage/fs-bucket.js';
import { clipObjectKey } from '../../src/storage/keys.js';
import { type ConsoleServer, startConsoleServer } from '../../src/ui/server.js';
import { startAgent } from '../helpers/agent.js';
import { type Recorder, subscriber, tempDir } from '../helpers/mqtt.js';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const WINDOW = { from: new Date(T0).toISOString(), to: new Date(T0 + 60 * MIN).toISOString() };
/** Who asks is the broker user whose namespace a footage request comes in. */
const requester = { kind: 'requester', identity: 'neighbour-12' };
const FOOTAGE_USERS: Record<string, string> = { share: 'neighbour-12', 'legal-demand': 'city-police' };

/** Four stored clips: inside the window (one end-to-end encrypted), outside it, and straddling its end. */
async function seedClips(bucketDir: string, deviceId: string) {
  const bucket = new FsBucket(bucketDir);
  const dir = tempDir();
  const clips = [
    { clipId: 'inside', start: T0 + 10 * MIN },
    { clipId: 'sealed', start: T0 + 20 * MIN, encrypted: true },
    { clipId: 'outside', start: T0 - 120 * MIN },
    { clipId: 'straddling', start: T0 + 59 * MIN },
  ];
  for (const clip of clips) {
    const recordedAt = new Date(clip.start).toISOString();
    const file = join(dir, `${clip.clipId}.mp4`);
    writeFileSync(file, `fake mp4 bytes of ${clip.clipId}`);
    await bucket.put(clipObjectKey({ deviceId, clipId: clip.clipId, recordedAt }, 'clip'), file, {
      'device-id': deviceId,
      'clip-id': clip.clipId,
      'recorded-at': recordedAt,
      'started-at': recordedAt,
      'ended-at': new Date(clip.start + 2 * MIN).toISOString(),
      'retention-days': '60',
      'retain-until': new Date(clip.start + 60 * 86_400_000).toISOString(),
      'legal-hold': 'false',
      encrypted: String(clip.encrypted === true),
    });
  }
  return bucket;
}

describe('share requests over MQTT: the owner decides, nobody can tell who declined', () => {
  const broker = new EmbeddedBroker({ port: 0 });
  const dir = tempDir();
  let asking: Agent;
  let denying: Agent;
  let consoleServer: ConsoleServer;
  let watch: Recorder;
  let bucket: FsBucket;

  beforeAll(async () => {
    await broker.start();
    watch = await subscriber(broker.url, [
      'doorbell/+/response/+',
      'doorbell/+/owner/+',
      'doorbell/+/requester/#',
    ]);
    const sharing = { policy: 'ask', consentTimeoutMs: 1000, linkTtlMs: 10 * MIN };
    asking = await startAgent(broker.url, 'asking', { privacy: { sharing } } as never, {
      dataDir: join(dir, 'a'),
    });
    // Only the answer delay is shortened; the policy stays the default (deny).
    const denyFast = { privacy: { sharing: { consentTimeoutMs: 1000 } } } as never;
    denying = await startAgent(broker.url, 'denying', denyFast, { dataDir: join(dir, 'd') });
    bucket = await seedClips(join(dir, 'a', 'bucket'), 'asking');
    await seedClips(join(dir, 'd', 'bucket'), 'denying');
    consoleServer = await startConsoleServer({ backend: consoleBackend(asking), port: 0 });
    asking.setLinkOrigin(consoleServer.url);
  });

  afterAll(async () => {
    await watch?.client.endAsync();
    await consoleServer?.stop();
    await asking?.stop();
    await denying?.stop();
    await broker.stop();
  });

  /** A request; footage requests go in their requester's namespace and are answered there. */
  async function ask(id: string, command: string, body: object) {
    const before = watch.messages.length;
    const user = FOOTAGE_USERS[command];
    const root = user ? `doorbell/${id}/requester/${user}` : `doorbell/${id}`;
    await watch.client.publishAsync(`${root}/request/${command}`, JSON.stringify(body), { qos: 1 });
    await watch.waitFor((ms) => ms.slice(before).some((m) => m.topic === `${root}/response/${command}`));
    return JSON.parse(
      watch.messages.slice(before).find((m) => m.topic === `${root}/response/${command}`)!.text,
    );
  }

  /** The second answer to a share request: the outcome, on the same transaction. */
  async function outcome(id: string, transaction: string, timeoutMs = 5000) {
    const match = (text: string) => {
      const body = JSON.parse(text);
      return body.transaction === transaction && Array.isArray(body.data?.clips);
    };
    const reply = await watch.waitForTopic(
      `doorbell/${id}/requester/neighbour-12/response/share`,
      match,
      timeoutMs,
    );
    return reply.text;
  }

  it('deny by default: acknowledged, never prompts the owner, answered with no footage', async () => {
    const ack = await ask('denying', 'share', {
      requestId: 'r-deny',
      reason: 'bike',
      window: WINDOW,
      transaction: 'td',
    });
    expect(ack).toMatchObject({ status: 'ok', data: { requestId: 'r-deny', received: true } });
    const answer = JSON.parse(await outcome('denying', 'td'));
    expect(answer.data).toEqual({ requestId: 'r-deny', clips: [] });
    expect(watch.on('doorbell/denying/owner/consent')).toHaveLength(0);
  });

  it('ask → the owner approves → only clips wholly inside the window are released, as working time-limited links', async () => {
    await ask('asking', 'share', {
      requestId: 'r-ok',
      reason: 'bike stolen',
      window: WINDOW,
      transaction: 't-ok',
    });
    const prompt = await watch.waitForTopic('doorbell/asking/owner/consent', (t) => t.includes('r-ok'));
    expect(JSON.parse(prompt.text)).toMatchObject({ kind: 'consent-prompt', requester, clipsInWindow: 2 });
    const decision = await ask('asking', 'share-decision', { requestId: 'r-ok', decision: 'approve' });
    expect(decision.status).toBe('ok');
    const answer = JSON.parse(await outcome('asking', 't-ok'));
    expect(
      answer.data.clips.map((c: { clipId: string; encrypted: boolean }) => [c.clipId, c.encrypted]),
    ).toEqual([
      ['inside', false],
      ['sealed', true],
    ]);
    const link: string = answer.data.clips[0].url;
    expect(link.startsWith(`${consoleServer.url.replace(/\/$/, '')}/shared/`)).toBe(true);
    const fetched = await fetch(link);
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-type')).toBe('video/mp4');
    expect(await fetched.text()).toBe('fake mp4 bytes of inside');
    // An encrypted clip is served as what it is: a download only the owner's key opens, not a video to play.
    const sealed = await fetch(answer.data.clips[1].url);
    expect(sealed.headers.get('content-type')).toBe('application/octet-stream');
    expect(sealed.headers.get('content-disposition')).toBe('attachment; filename="sealed.mp4.enc"');
    expect(await sealed.text()).toBe('fake mp4 bytes of sealed');
    const tampered = await fetch(
      link.replace(/sig=./, (m) => (m.endsWith('A') ? `${m.slice(0, -1)}B` : `${m.slice(0, -1)}A`)),
    );
    expect(tampered.status).toBe(403);
    const otherKey = await fetch(link.replace('/inside.mp4', '/outside.mp4'));
    expect(otherKey.status).toBe(403);
  });

  it('decline, timeout and opt-out give byte-identical answers apart from the transaction', async () => {
    const run = async (transaction: string, act: () => Promise<void>) => {
      await ask('asking', 'share', {
        requestId: 'r-same',
        reason: 'bike',
        window: WINDOW,
        transaction,
      });
      await act();
      return (await outcome('asking', transaction)).replace(
        `"transaction":"${transaction}"`,
        '"transaction":"…"',
      );
    };
    const declined = await run('t-decline', async () => {
      await watch.waitForTopic('doorbell/asking/owner/consent', (t) => t.includes('r-same'));
      await ask('asking', 'share-decision', { requestId: 'r-same', decision: 'decline' });
    });
    const timedOut = await run('t-timeout', async () => {});
    await ask('asking', 'share-policy', { optedOut: true });
    const optedOut = await run('t-optout', async () => {});
    await ask('asking', 'share-policy', { optedOut: false });
    expect(timedOut).toBe(declined);
    expect(optedOut).toBe(declined);
    expect(JSON.parse(declined).data).toEqual({ requestId: 'r-same', clips: [] });
  });

  it('a legal demand holds the clips in its window, releases nothing, and the hold survives the 60-day sweep', async () => {
    const ack = await ask('asking', 'legal-demand', {
      requestId: 'ld-1',
      reason: 'burglary investigation',
      demandRef: 'PR-2026-0042',
      window: WINDOW,
      transaction: 'tl',
    });
    expect(ack).toMatchObject({ status: 'ok', data: { demandRef: 'PR-2026-0042', hold: 'recorded' } });
    const notice = await watch.waitForTopic('doorbell/asking/owner/notice', (t) => t.includes('legal-hold'));
    expect(JSON.parse(notice.text).clipIds.sort()).toEqual(['inside', 'sealed', 'straddling']);
    expect(
      watch.messages.some((m) => m.topic.endsWith('/response/legal-demand') && m.text.includes('"url"')),
    ).toBe(false);
    const report = await sweepRetention({ bucket, nowMs: T0 + 61 * 86_400_000 });
    const left: string[] = [];
    for await (const object of bucket.list('clips/asking/'))
      if (object.key.endsWith('.mp4')) left.push(object.key);
    expect(left.map((k) => k.split('/').pop()).sort()).toEqual([
      'inside.mp4',
      'sealed.mp4',
      'straddling.mp4',
    ]);
    expect(report.deleted.some((d) => JSON.stringify(d).includes('outside'))).toBe(true);
  });

  it('every request, decision, release and hold is in the audit chain, which detects an edited line', async () => {
    const path = join(dir, 'a', 'asking', 'audit.jsonl');
    const result = await verifyAuditLog(path);
    expect(result).toMatchObject({ ok: true });
    const types = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).type);
    expect(types).toEqual(
      expect.arrayContaining(['share-request', 'share-decision', 'share-release', 'legal-hold']),
    );
    const lines = readFileSync(path, 'utf8').split('\n');
    const target = lines.findIndex((line) => line.includes('neighbour-12'));
    lines[target] = lines[target]!.replace('neighbour-12', 'neighbour-14');
    const edited = join(dir, 'edited.jsonl');
    writeFileSync(edited, lines.join('\n'));
    expect(await verifyAuditLog(edited)).toMatchObject({ ok: false, line: target + 1 });
  });
});
