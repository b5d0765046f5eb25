import type { ScenarioAction } from './scenario.js';

/** A timeline action, or the end of an outage, in the order the run applies them. */
export interface QueuedAction {
  atMs: number;
  order: number;
  action: ScenarioAction | { do: 'broker-back' } | { do: 'bucket-back' };
  index: number;
}

/** The scenario's actions and outage ends within its duration, by time, then in timeline order. */
export function actionQueue(timeline: readonly ScenarioAction[], durationMs: number): QueuedAction[] {
  const queue: QueuedAction[] = [];
  let order = 0;
  timeline.forEach((action, index) => {
    queue.push({ atMs: action.at, order: order++, action, index });
    if (action.do === 'broker-outage')
      queue.push({ atMs: action.until, order: order++, action: { do: 'broker-back' }, index });
    if (action.do === 'bucket-outage')
      queue.push({ atMs: action.until, order: order++, action: { do: 'bucket-back' }, index });
  });
  return queue
    .filter((entry) => entry.atMs <= durationMs)
    .sort((a, b) => a.atMs - b.atMs || a.order - b.order);
}
