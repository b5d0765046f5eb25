/**
 * The ONVIF event service (ver10/events/wsdl) with pull points: the device's events (see notifications.ts) reach
 * every live subscription; CreatePullPointSubscription, PullMessages, Renew, Unsubscribe and SetSynchronizationPoint
 * manage them. It takes device events as the bus delivers them and keeps no event model of its own.
 */
import type { Clock } from '../clock/clock.js';
import type { DeviceEvent } from '../events/schemas.js';
import { parseDuration, parseTerminationTime } from './duration.js';
import {
  applyNotifications,
  initializedNotifications,
  MESSAGE_CONTENT_DIALECT,
  notificationsOf,
  notificationXml,
  type OnvifNotification,
  type OnvifProperties,
  TOPIC_EXPRESSION_DIALECTS,
  topicFilter,
  topicSetXml,
} from './notifications.js';
import { type PullPointLimits, PullPoints, type SubscriptionTimes } from './pull-points.js';
import { type OperationTable, SERVICE_PATHS, type ServiceContext } from './service-context.js';
import { attributeOf, child, type SoapRequest, senderFault, textAt, textOf, type Xml, xml } from './soap.js';

/** A subscription that asks for no termination time lives this long unless renewed. */
const DEFAULT_TERMINATION_MS = 60_000;
const MAX_MESSAGE_LIMIT = 1000;

export function eventServiceCapabilities(
  limits: Pick<PullPointLimits, 'maxSubscriptions'> = { maxSubscriptions: 16 },
): Xml {
  return xml`<tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" WSPausableSubscriptionManagerInterfaceSupport="false" MaxNotificationProducers="0" MaxPullPoints="${limits.maxSubscriptions}" PersistentNotificationStorage="false"/>`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function times(subscription: SubscriptionTimes, prefix: 'tev' | 'wsnt'): Xml {
  return prefix === 'tev'
    ? xml`<tev:CurrentTime>${iso(subscription.currentTime)}</tev:CurrentTime><tev:TerminationTime>${iso(subscription.terminationTime)}</tev:TerminationTime>`
    : xml`<wsnt:CurrentTime>${iso(subscription.currentTime)}</wsnt:CurrentTime><wsnt:TerminationTime>${iso(subscription.terminationTime)}</wsnt:TerminationTime>`;
}

export class OnvifEvents {
  private readonly pullPoints: PullPoints;
  private properties: OnvifProperties;

  constructor(
    private readonly clock: Clock,
    initial: OnvifProperties,
    limits: Partial<PullPointLimits> = {},
  ) {
    this.pullPoints = new PullPoints(clock, limits);
    this.properties = { ...initial };
  }

  get subscriptions(): number {
    return this.pullPoints.size;
  }

  start(): void {
    this.pullPoints.start();
  }

  /** A device event from the bus: the notifications it makes go to every subscription. */
  onDeviceEvent(event: DeviceEvent): void {
    const notifications = notificationsOf(event);
    if (notifications.length === 0) return;
    this.properties = applyNotifications(this.properties, notifications);
    this.pullPoints.publish(notifications);
  }

  close(): void {
    this.pullPoints.close();
  }

  private initialized(): OnvifNotification[] {
    return initializedNotifications(this.properties, iso(this.clock.now()));
  }

  private terminationOf(request: SoapRequest, element: string, fallbackMs: number | undefined): number {
    const text = textAt(request.body, element);
    if (text === undefined || text === '') {
      if (fallbackMs === undefined) throw senderFault('ter:InvalidArgVal', `${element} is missing`);
      return fallbackMs;
    }
    const ms = parseTerminationTime(text, this.clock.now());
    if (ms === undefined || ms <= 0)
      throw senderFault(
        'ter:InvalidArgVal',
        `${element} ${JSON.stringify(text)} is not a duration or a future time`,
      );
    return ms;
  }

  /** The events service's own operations. */
  readonly operations: OperationTable = {
    GetServiceCapabilities: () =>
      xml`<tev:GetServiceCapabilitiesResponse>${eventServiceCapabilities()}</tev:GetServiceCapabilitiesResponse>`,
    GetEventProperties: () =>
      xml`<tev:GetEventPropertiesResponse><tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation><wsnt:FixedTopicSet>true</wsnt:FixedTopicSet>${topicSetXml()}${TOPIC_EXPRESSION_DIALECTS.map((dialect) => xml`<wsnt:TopicExpressionDialect>${dialect}</wsnt:TopicExpressionDialect>`)}<tev:MessageContentFilterDialect>${MESSAGE_CONTENT_DIALECT}</tev:MessageContentFilterDialect><tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation></tev:GetEventPropertiesResponse>`,
    CreatePullPointSubscription: (request, context) => {
      const expression = child(child(request.body, 'Filter'), 'TopicExpression');
      const filter = topicFilter(textOf(expression), attributeOf(expression, 'Dialect'));
      const terminationMs = this.terminationOf(request, 'InitialTerminationTime', DEFAULT_TERMINATION_MS);
      const created = this.pullPoints.create(terminationMs, this.initialized(), filter);
      return xml`<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><a:Address>${context.origin}${SERVICE_PATHS.pullPoint}${created.id}</a:Address></tev:SubscriptionReference>${times(created, 'wsnt')}</tev:CreatePullPointSubscriptionResponse>`;
    },
  };

  /** The operations of the pull point `id` (its address is the pull-point path and the id). */
  pullPointOperations(id: string): OperationTable {
    return {
      PullMessages: async (request: SoapRequest, context: ServiceContext) => {
        const timeoutText = textAt(request.body, 'Timeout') ?? '';
        const waitMs = parseDuration(timeoutText);
        if (waitMs === undefined)
          throw senderFault('ter:InvalidArgVal', `Timeout ${JSON.stringify(timeoutText)} is not a duration`);
        const limitText = textAt(request.body, 'MessageLimit') ?? '';
        const limit = Number(limitText);
        if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_MESSAGE_LIMIT)
          throw senderFault(
            'ter:InvalidArgVal',
            `MessageLimit ${JSON.stringify(limitText)} is not 1 to ${MAX_MESSAGE_LIMIT}`,
          );
        const cancel = () => this.pullPoints.cancelPull(id);
        context.closed.addEventListener('abort', cancel, { once: true });
        try {
          const notifications = await this.pullPoints.pull(id, waitMs, limit);
          return xml`<tev:PullMessagesResponse>${times(this.pullPoints.times(id), 'tev')}${notifications.map(notificationXml)}</tev:PullMessagesResponse>`;
        } finally {
          context.closed.removeEventListener('abort', cancel);
        }
      },
      Renew: (request) => {
        const renewed = this.pullPoints.renew(
          id,
          this.terminationOf(request, 'TerminationTime', DEFAULT_TERMINATION_MS),
        );
        return xml`<wsnt:RenewResponse><wsnt:TerminationTime>${iso(renewed.terminationTime)}</wsnt:TerminationTime><wsnt:CurrentTime>${iso(renewed.currentTime)}</wsnt:CurrentTime></wsnt:RenewResponse>`;
      },
      Unsubscribe: () => {
        this.pullPoints.unsubscribe(id);
        return xml`<wsnt:UnsubscribeResponse/>`;
      },
      SetSynchronizationPoint: () => {
        this.pullPoints.publishTo(id, this.initialized());
        return xml`<tev:SetSynchronizationPointResponse/>`;
      },
    };
  }
}
