import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pythonWithJinja } from '../../scripts/lib/jinja-python.js';
import type { MotionLabel } from '../../src/events/schemas.js';
import { MOTION_LABELS } from '../../src/events/schemas.js';
import { type DiscoveryMessage, discoveryMessages } from '../../src/mqtt/discovery.js';
import { goldenPathFor } from '../../src/replay/golden.js';
import { listScenarioNames, resolveScenarioPath } from '../../src/replay/scenario.js';
import { countEvents, isMessage, parseTape, type TapeMessage } from '../../src/replay/tape.js';
import { makeDoorbell } from '../helpers/doorbell.js';

/**
 * Renders Home Assistant value templates with Jinja2 as HA does (helpers/template.py,
 * async_render_with_possible_json_value): `value` is the payload text, `value_json` the parsed payload, the result
 * stripped; `to_json` is HA's filter (compact JSON). Sandboxed, like HA's environment.
 */
const RENDER = `
import json, sys
from jinja2.sandbox import ImmutableSandboxedEnvironment
env = ImmutableSandboxedEnvironment()
env.filters['to_json'] = lambda v: json.dumps(v, ensure_ascii=False, separators=(',', ':'))
out = []
for case in json.load(sys.stdin):
    variables = {'value': case['payload']}
    try:
        variables['value_json'] = json.loads(case['payload'])
    except ValueError:
        pass
    out.append(env.from_string(case['template']).render(**variables).strip())
print(json.dumps(out))
`;

const PYTHON = pythonWithJinja();
const HAS_JINJA = PYTHON !== undefined;

function render(cases: Array<{ template: string; payload: string }>): string[] {
  const result = spawnSync(PYTHON!, ['-c', RENDER], { input: JSON.stringify(cases), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 (jinja2): ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}

type Outcome = { fired: string; attributes: Record<string, unknown> } | { ignored: true };

/**
 * What HA's MQTT event entity does with a rendered template (homeassistant/components/mqtt/event.py,
 * `_event_received`): an empty render (or "None", "{}") is ignored; otherwise a JSON object whose `event_type`,
 * one of the entity's `event_types`, fires the event with the rest as attributes. Anything else is a warning in
 * HA's log and no event: here a failed test.
 */
function haEvent(rendered: string, eventTypes: readonly string[]): Outcome {
  if (rendered === '' || rendered === 'None' || rendered === '{}') return { ignored: true };
  const { event_type: eventType, ...attributes } = JSON.parse(rendered) as Record<string, unknown>;
  expect(eventTypes, rendered).toContain(eventType);
  return { fired: eventType as string, attributes };
}

function eventEntity(messages: DiscoveryMessage[], objectId: string) {
  const config = messages.find((m) => m.objectId === objectId && m.component === 'event')!.config;
  return { template: config['value_template'] as string, eventTypes: config['event_types'] as string[] };
}

describe.skipIf(!HAS_JINJA)(
  'Home Assistant event templates rendered with Jinja2 (skipped: python3 with jinja2 missing, apt-get install python3-jinja2)',
  () => {
    const discovery = discoveryMessages({
      topicPrefix: 'doorbell',
      deviceId: 'front-door',
      profile: makeDoorbell().profile,
    });
    const ring = eventEntity(discovery, 'ring');
    const motion = eventEntity(discovery, 'motion_event');

    it('a ring fires `ring` once; its outcome (thread "ended") renders empty and fires nothing', () => {
      const { clock, doorbell, events } = makeDoorbell({
        button: { debounceMs: 0, chimeWindowMs: 0, answerWindowMs: 5_000 },
      });
      doorbell.start();
      clock.advance(1_000);
      doorbell.press('homeassistant');
      clock.advance(1_000);
      doorbell.answer();
      doorbell.press('button');
      clock.advance(5_000); // missed
      const payloads = events.flatMap((e) =>
        e.kind === 'ding' || e.kind === 'ding-ended' ? [e.payload] : [],
      );
      expect(payloads.map((p) => [p.thread, p.outcome])).toEqual([
        ['started', undefined],
        ['ended', 'answered'],
        ['started', undefined],
        ['ended', 'missed'],
      ]);
      const rendered = render(payloads.map((p) => ({ template: ring.template, payload: JSON.stringify(p) })));
      const outcomes = rendered.map((r) => haEvent(r, ring.eventTypes));
      expect(outcomes).toEqual([
        {
          fired: 'ring',
          attributes: {
            source: 'homeassistant',
            seq: payloads[0]!.seq,
            at: payloads[0]!.at,
            dingId: payloads[0]!.dingId,
            sessionId: payloads[0]!.sessionId,
          },
        },
        { ignored: true },
        { fired: 'ring', attributes: expect.objectContaining({ source: 'button', dingId: payloads[2]!.id }) },
        { ignored: true },
      ]);
    });

    it('a motion fires once, on its start, with its first label as the event type; updates and the end fire nothing', () => {
      const { clock, doorbell, events } = makeDoorbell();
      doorbell.start();
      clock.advance(1_000);
      const box = { x: 0.1, y: 0.2, w: 0.3, h: 0.4 };
      const moved = (type: 'start' | 'update' | 'end', labels?: MotionLabel[]) => {
        doorbell.motion({ type, atMs: clock.now(), score: 0.4, box, zones: ['porch'], labels });
        clock.advance(1_000);
      };
      for (const label of MOTION_LABELS) {
        moved('start', label === 'motion' ? undefined : [label, 'package']);
        moved('update');
        moved('end');
      }
      const payloads = events.flatMap((e) => (e.kind === 'motion' ? [e.payload] : []));
      const rendered = render(
        payloads.map((p) => ({ template: motion.template, payload: JSON.stringify(p) })),
      );
      const outcomes = rendered.map((r) => haEvent(r, motion.eventTypes));
      expect(outcomes.filter((o) => 'ignored' in o)).toHaveLength(2 * MOTION_LABELS.length);
      const fired = outcomes.flatMap((o, i) => ('fired' in o ? [{ ...o, payload: payloads[i]! }] : []));
      expect(fired.map((f) => [f.payload.thread, f.fired])).toEqual(
        MOTION_LABELS.map((label) => ['started', label]),
      );
      const first = fired[1]!;
      expect(first.attributes).toEqual({
        labels: ['person', 'package'],
        score: 0.4,
        box,
        zones: ['porch'],
        motionId: first.payload.motionId,
        sessionId: first.payload.sessionId,
      });
    });

    it('over every golden tape: one ring event per ring, one motion event per motion start, typed by its labels', () => {
      type EventConfig = { value_template: string; event_types: string[]; state_topic: string };
      const checks = listScenarioNames().flatMap((name) => {
        const tape = parseTape(readFileSync(goldenPathFor(resolveScenarioPath(name)), 'utf8'));
        const messages = tape.filter(isMessage);
        const counts = countEvents(tape);
        // The configs the device announced in that run, and every message on the topic each reads.
        return (['ring', 'motion_event'] as const).map((objectId) => {
          const config = messages.find((m) =>
            new RegExp(`^homeassistant/event/[^/]+/${objectId}/config$`).test(m.mqtt),
          )?.payload as EventConfig | undefined;
          expect(config, `${name}: ${objectId} discovery`).toBeDefined();
          const sent = messages.filter((m): m is TapeMessage => m.mqtt === config!.state_topic);
          const wanted = objectId === 'ring' ? counts['ding'] : counts['motion.start'];
          return { name, objectId, config: config!, sent, wanted };
        });
      });
      const rendered = render(
        checks.flatMap(({ config, sent }) =>
          sent.map((m) => ({ template: config.value_template, payload: JSON.stringify(m.payload) })),
        ),
      );
      let next = 0;
      for (const { name, objectId, config, sent, wanted } of checks) {
        const outcomes = sent.map((m) => ({
          outcome: haEvent(rendered[next++]!, config.event_types),
          payload: m.payload as { labels?: string[] },
        }));
        const fired = outcomes.filter((o) => 'fired' in o.outcome);
        expect(fired.length, `${name}: ${objectId} events`).toBe(wanted);
        if (objectId !== 'motion_event') continue;
        for (const { outcome, payload } of fired) {
          expect(outcome, name).toMatchObject({ fired: payload.labels![0] });
        }
      }
      expect(next).toBe(rendered.length);
    });
  },
);
