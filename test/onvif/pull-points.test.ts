import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import {
  type OnvifNotification,
  TOPIC_EXPRESSION_DIALECTS,
  topicFilter,
} from '../../src/onvif/notifications.js';
import { PullPoints } from '../../src/onvif/pull-points.js';
import { SoapFault } from '../../src/onvif/soap.js';

const motion = (state: boolean): OnvifNotification => ({
  property: 'motion',
  state,
  operation: 'Changed',
  utcTime: '2026-01-01T00:00:00.000Z',
});
const visitor: OnvifNotification = { ...motion(true), property: 'visitor' };

/** Whether a promise has settled, after the microtasks queued so far have run. */
async function settled<T>(promise: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let result: { done: boolean; value?: T } = { done: false };
  void promise.then((value) => {
    result = { done: true, value };
  });
  await Promise.resolve();
  await Promise.resolve();
  return result;
}

describe('pull points', () => {
  it('hands out what waits at once, else the first notification to arrive, else nothing at the timeout', async () => {
    const clock = new VirtualClock();
    const points = new PullPoints(clock);
    const { id } = points.create(60_000, [motion(false)]);
    expect(await points.pull(id, 10_000, 10)).toEqual([motion(false)]);

    const waiting = points.pull(id, 10_000, 10);
    expect((await settled(waiting)).done).toBe(false);
    points.publish([motion(true)]);
    expect(await waiting).toEqual([motion(true)]);

    const idle = points.pull(id, 10_000, 10);
    clock.advance(9_999);
    expect((await settled(idle)).done).toBe(false);
    clock.advance(1);
    expect(await idle).toEqual([]);
  });

  it('keeps to the message limit and leaves the rest for the next pull', async () => {
    const points = new PullPoints(new VirtualClock());
    const { id } = points.create(60_000, []);
    points.publish([motion(true), motion(false), visitor]);
    expect(await points.pull(id, 0, 2)).toEqual([motion(true), motion(false)]);
    expect(await points.pull(id, 0, 2)).toEqual([visitor]);
  });

  it('expires at its termination time unless renewed; unsubscribe ends it at once', async () => {
    const clock = new VirtualClock();
    const points = new PullPoints(clock);
    const a = points.create(10_000, []);
    const b = points.create(10_000, []);
    expect(a.terminationTime - a.currentTime).toBe(10_000);
    clock.advance(9_000);
    points.renew(b.id, 10_000);
    clock.advance(1_000);
    expect(() => points.times(a.id)).toThrow(SoapFault);
    expect(points.times(b.id).terminationTime).toBe(clock.now() + 9_000);
    points.unsubscribe(b.id);
    expect(() => points.pull(b.id, 0, 1)).toThrow(/no subscription/);
  });

  it('frees expired subscriptions nobody pulls, and answers a waiting pull when it goes', async () => {
    const clock = new VirtualClock();
    const points = new PullPoints(clock);
    points.start();
    const { id } = points.create(5_000, []);
    const waiting = points.pull(id, 60_000, 1);
    points.unsubscribe(id);
    expect(await waiting).toEqual([]);
    points.create(5_000, []);
    clock.advance(10_000);
    expect(points.size).toBe(0);
    points.close();
  });

  it('refuses a subscription past the limit and drops the oldest notifications past the queue cap', async () => {
    const points = new PullPoints(new VirtualClock(), { maxSubscriptions: 2, maxQueued: 3 });
    const { id } = points.create(60_000, []);
    points.create(60_000, []);
    expect(() => points.create(60_000, [])).toThrow(/takes 2 subscriptions/);
    points.publish([motion(true), motion(false), motion(true), visitor]);
    expect(await points.pull(id, 0, 10)).toEqual([motion(false), motion(true), visitor]);
  });

  it('a topic filter keeps only the topics asked for, prefixes aside', async () => {
    const points = new PullPoints(new VirtualClock());
    const onlyVisitor = points.create(60_000, [], topicFilter('tns1:RuleEngine/MyRuleDetector/Visitor'));
    const videoTree = points.create(60_000, [], topicFilter('x:VideoSource//.'));
    const both = points.create(60_000, [], topicFilter('tns1:VideoSource/MotionAlarm|tns1:RuleEngine//.'));
    points.publish([motion(true), visitor]);
    expect(await points.pull(onlyVisitor.id, 0, 10)).toEqual([visitor]);
    expect(await points.pull(videoTree.id, 0, 10)).toEqual([motion(true)]);
    expect(await points.pull(both.id, 0, 10)).toEqual([motion(true), visitor]);
  });

  it.each([
    ['a topic the device does not have', 'tns1:Nope', undefined, 'wsnt:TopicNotSupportedFault'],
    ['a non-leaf topic', 'tns1:VideoSource', undefined, 'wsnt:TopicNotSupportedFault'],
    [
      'one unknown topic among known ones',
      'tns1:VideoSource/MotionAlarm|tns1:Nope//.',
      undefined,
      'wsnt:TopicNotSupportedFault',
    ],
    [
      'an unknown dialect',
      'tns1:VideoSource/MotionAlarm',
      'urn:example:xpath',
      'wsnt:TopicExpressionDialectUnknownFault',
    ],
    [
      'an empty alternative',
      'tns1:VideoSource/MotionAlarm||tns1:RuleEngine//.',
      undefined,
      'wsnt:InvalidTopicExpressionFault',
    ],
    [
      'a wildcard (Full dialect only)',
      'tns1:VideoSource/*',
      TOPIC_EXPRESSION_DIALECTS[0],
      'wsnt:InvalidTopicExpressionFault',
    ],
  ])('a topic filter naming %s is refused: %s', (_name, expression, dialect, subcode) => {
    let refused: unknown;
    try {
      topicFilter(expression, dialect);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(SoapFault);
    expect(refused).toMatchObject({ code: 'Sender', subcode });
    expect((refused as SoapFault).message).toContain('TopicExpression');
  });

  it('a topic filter in either ONVIF dialect, or with none named, is taken', () => {
    for (const dialect of [...TOPIC_EXPRESSION_DIALECTS, undefined])
      expect(topicFilter('tns1:VideoSource/MotionAlarm', dialect)(motion(true))).toBe(true);
  });
});
