/**
 * The device's events as ONVIF notifications. Nothing here invents an event: a motion start/end on the device bus
 * is `tns1:VideoSource/MotionAlarm` State true/false, a ring (ding) and its end are
 * `tns1:RuleEngine/MyRuleDetector/Visitor` State true/false — the topics and SimpleItem names (Source, State) that
 * Home Assistant's ONVIF parser and Reolink doorbells use. Pure.
 */
import type { DeviceEvent } from '../events/schemas.js';
import { senderFault, type Xml, xml } from './soap.js';

export const MOTION_TOPIC = 'tns1:VideoSource/MotionAlarm';
export const VISITOR_TOPIC = 'tns1:RuleEngine/MyRuleDetector/Visitor';
/** The camera's one video source (GetVideoSources, the profiles and every notification's Source name it). */
export const VIDEO_SOURCE_TOKEN = 'VideoSource_1';

const CONCRETE_SET = 'http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet';

export type OnvifProperty = 'motion' | 'visitor';

const TOPICS: Record<OnvifProperty, string> = { motion: MOTION_TOPIC, visitor: VISITOR_TOPIC };

export interface OnvifNotification {
  property: OnvifProperty;
  /** ISO-8601 UTC: the device event's `at`. */
  utcTime: string;
  /** Initialized: the state when a subscription starts; Changed: it changed. */
  operation: 'Initialized' | 'Changed';
  state: boolean;
}

export type OnvifProperties = Record<OnvifProperty, boolean>;

/** The notifications a device event makes (none for clips, state and the rest). */
export function notificationsOf(event: DeviceEvent): OnvifNotification[] {
  const changed = (property: OnvifProperty, state: boolean): OnvifNotification[] => [
    { property, state, utcTime: event.payload.at, operation: 'Changed' },
  ];
  switch (event.kind) {
    case 'ding':
      return changed('visitor', true);
    case 'ding-ended':
      return changed('visitor', false);
    case 'motion':
      if (event.payload.type === 'update') return [];
      return changed('motion', event.payload.type === 'start');
    default:
      return [];
  }
}

/** The properties after `notifications`. */
export function applyNotifications(
  properties: OnvifProperties,
  notifications: readonly OnvifNotification[],
): OnvifProperties {
  const next = { ...properties };
  for (const notification of notifications) next[notification.property] = notification.state;
  return next;
}

/** What a new subscription is told first: every property's current state. */
export function initializedNotifications(properties: OnvifProperties, utcTime: string): OnvifNotification[] {
  return (Object.keys(TOPICS) as OnvifProperty[]).map((property) => ({
    property,
    state: properties[property],
    utcTime,
    operation: 'Initialized',
  }));
}

export function notificationXml(notification: OnvifNotification): Xml {
  return xml`<wsnt:NotificationMessage><wsnt:Topic Dialect="${CONCRETE_SET}">${TOPICS[notification.property]}</wsnt:Topic><wsnt:Message><tt:Message UtcTime="${notification.utcTime}" PropertyOperation="${notification.operation}"><tt:Source><tt:SimpleItem Name="Source" Value="${VIDEO_SOURCE_TOKEN}"/></tt:Source><tt:Data><tt:SimpleItem Name="State" Value="${String(notification.state)}"/></tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
}

/** GetEventProperties' topic set: both topics, each a property with a Source and a boolean State. */
export function topicSetXml(): Xml {
  const description = xml`<tt:MessageDescription IsProperty="true"><tt:Source><tt:SimpleItemDescription Name="Source" Type="tt:ReferenceToken"/></tt:Source><tt:Data><tt:SimpleItemDescription Name="State" Type="xs:boolean"/></tt:Data></tt:MessageDescription>`;
  return xml`<wstop:TopicSet><tns1:VideoSource wstop:topic="false"><tns1:MotionAlarm wstop:topic="true">${description}</tns1:MotionAlarm></tns1:VideoSource><tns1:RuleEngine wstop:topic="false"><tns1:MyRuleDetector wstop:topic="false"><tns1:Visitor wstop:topic="true">${description}</tns1:Visitor></tns1:MyRuleDetector></tns1:RuleEngine></wstop:TopicSet>`;
}

/** The topic expression dialects a subscription may name: ONVIF's ConcreteSet and WS-Topics' Concrete. */
export const TOPIC_EXPRESSION_DIALECTS = [
  CONCRETE_SET,
  'http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete',
];

/** One topic path of an expression: `prefix:Name/prefix:Name…`, optionally ending in `//.` for the subtree. */
const TOPIC_PATH =
  /^(?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*(?:\/(?:[A-Za-z_][\w.-]*:)?[A-Za-z_][\w.-]*)*(?:\/\/\.)?$/;

interface TopicSelector {
  path: string;
  subtree: boolean;
}

/** A topic path with its namespace prefixes left out (they name the same namespace, whatever the client's prefix). */
function barePath(topic: string): string {
  return topic
    .split('/')
    .map((part) => part.replace(/^[^:]*:/, ''))
    .join('/');
}

function selects(selector: TopicSelector, topic: string): boolean {
  const path = barePath(topic);
  return path === selector.path || (selector.subtree && path.startsWith(`${selector.path}/`));
}

/**
 * A subscription's topic filter (ConcreteSet: topics joined by `|`, a trailing `//.` takes the subtree), matched
 * on the topic path with namespace prefixes left out. No expression: everything passes. Faults the way
 * WS-BaseNotification's Subscribe does (ONVIF Core gives CreatePullPointSubscription the same faults): an unknown
 * dialect, an expression that is not a topic path, a path that names none of the device's topics. A subscription
 * that could never receive a notification is refused rather than left silent.
 */
export function topicFilter(
  expression: string | undefined,
  dialect?: string,
): (notification: OnvifNotification) => boolean {
  if (!expression?.trim()) return () => true;
  if (dialect !== undefined && !TOPIC_EXPRESSION_DIALECTS.includes(dialect))
    throw senderFault(
      'wsnt:TopicExpressionDialectUnknownFault',
      `TopicExpression Dialect ${JSON.stringify(dialect)} is not one of ${TOPIC_EXPRESSION_DIALECTS.join(', ')}`,
    );
  const selectors = expression.split('|').map((raw): TopicSelector => {
    const part = raw.trim();
    if (!TOPIC_PATH.test(part))
      throw senderFault(
        'wsnt:InvalidTopicExpressionFault',
        `TopicExpression ${JSON.stringify(part)} is not a topic path (prefix:Name/prefix:Name…, optionally ending in //.)`,
      );
    const path = barePath(part);
    const selector = path.endsWith('//.')
      ? { path: path.slice(0, -3), subtree: true }
      : { path, subtree: false };
    if (!Object.values(TOPICS).some((topic) => selects(selector, topic)))
      throw senderFault(
        'wsnt:TopicNotSupportedFault',
        `TopicExpression ${JSON.stringify(part)} is none of the device's topics: ${Object.values(TOPICS).join(', ')}`,
      );
    return selector;
  });
  return (notification) => selectors.some((selector) => selects(selector, TOPICS[notification.property]));
}

export const MESSAGE_CONTENT_DIALECT = 'http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter';
