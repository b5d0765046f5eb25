/**
 * WS-Discovery (2005/04, as ONVIF uses it) messages: reading a Probe, answering it with a ProbeMatch that carries the
 * device service's XAddrs, and the Hello and Bye a device multicasts when it comes and goes. Pure.
 */
import { children, parseEnvelope, SoapFault, textAt, textOf, type Xml, xml } from './soap.js';

export const DISCOVERY_MULTICAST = { address: '239.255.255.250', port: 3702 } as const;

const WSD = 'http://schemas.xmlsoap.org/ws/2005/04/discovery';
const WSA = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
const ACTIONS = {
  probeMatches: `${WSD}/ProbeMatches`,
  hello: `${WSD}/Hello`,
  bye: `${WSD}/Bye`,
};
const TO_ANONYMOUS = `${WSA}/role/anonymous`;
const TO_DISCOVERY = 'urn:schemas-xmlsoap-org:ws:2005:04:discovery';

/** The types this device answers to, by local name (dn:NetworkVideoTransmitter, tds:Device). */
const DEVICE_TYPES = ['NetworkVideoTransmitter', 'Device'];
const TYPES_XML = 'dn:NetworkVideoTransmitter tds:Device';

export interface Probe {
  messageId: string;
  /** Requested types by local name; empty: any. */
  types: string[];
  /** Requested scopes; empty: any. */
  scopes: string[];
}

export interface DiscoveryIdentity {
  /** urn:uuid:… */
  endpoint: string;
  scopes: readonly string[];
  /** Space-separated device service URLs. */
  xaddrs: string;
}

export interface AppSequence {
  instanceId: number;
  messageNumber: number;
}

/** The Probe in a datagram; undefined for any other message. Throws a SoapFault for what is not SOAP at all. */
export function probeOf(datagram: string): Probe | undefined {
  const request = parseEnvelope(datagram);
  if (request.action !== 'Probe') return undefined;
  const messageId = textAt(request.header, 'MessageID');
  if (!messageId)
    throw new SoapFault('Sender', 'wsa:InvalidMessageInformationHeader', 'the Probe has no MessageID');
  const words = (text: string | undefined) => (text ?? '').split(/\s+/).filter((word) => word.length > 0);
  return {
    messageId,
    types: words(children(request.body, 'Types').map(textOf).join(' ')).map((type) =>
      type.replace(/^[^:]*:/, ''),
    ),
    scopes: words(children(request.body, 'Scopes').map(textOf).join(' ')),
  };
}

/** RFC 3986 scope matching (WS-Discovery's default): a requested scope matches ours when it is a prefix by segments. */
function scopeMatches(requested: string, offered: string): boolean {
  const bare = (scope: string) => scope.replace(/\/+$/, '').toLowerCase();
  const wanted = bare(requested);
  const have = bare(offered);
  return have === wanted || have.startsWith(`${wanted}/`);
}

export function probeMatches(probe: Probe, identity: Pick<DiscoveryIdentity, 'scopes'>): boolean {
  return (
    probe.types.every((type) => DEVICE_TYPES.includes(type)) &&
    probe.scopes.every((requested) => identity.scopes.some((offered) => scopeMatches(requested, offered)))
  );
}

function discoveryEnvelope(header: Xml, body: Xml): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${
    xml`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="${WSA}" xmlns:d="${WSD}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl"><s:Header>${header}</s:Header><s:Body>${body}</s:Body></s:Envelope>`
      .markup
  }`;
}

function appSequenceXml(sequence: AppSequence): Xml {
  return xml`<d:AppSequence InstanceId="${sequence.instanceId}" MessageNumber="${sequence.messageNumber}"/>`;
}

function endpointXml(identity: DiscoveryIdentity, withAddrs: boolean): Xml {
  return xml`<a:EndpointReference><a:Address>${identity.endpoint}</a:Address></a:EndpointReference>${
    withAddrs
      ? xml`<d:Types>${TYPES_XML}</d:Types><d:Scopes>${identity.scopes.join(' ')}</d:Scopes><d:XAddrs>${identity.xaddrs}</d:XAddrs>`
      : undefined
  }<d:MetadataVersion>1</d:MetadataVersion>`;
}

export function probeMatchXml(
  probe: Probe,
  identity: DiscoveryIdentity,
  messageId: string,
  sequence: AppSequence,
): string {
  return discoveryEnvelope(
    xml`<a:MessageID>${messageId}</a:MessageID><a:RelatesTo>${probe.messageId}</a:RelatesTo><a:To>${TO_ANONYMOUS}</a:To><a:Action>${ACTIONS.probeMatches}</a:Action>${appSequenceXml(sequence)}`,
    xml`<d:ProbeMatches><d:ProbeMatch>${endpointXml(identity, true)}</d:ProbeMatch></d:ProbeMatches>`,
  );
}

export function helloXml(identity: DiscoveryIdentity, messageId: string, sequence: AppSequence): string {
  return discoveryEnvelope(
    xml`<a:MessageID>${messageId}</a:MessageID><a:To>${TO_DISCOVERY}</a:To><a:Action>${ACTIONS.hello}</a:Action>${appSequenceXml(sequence)}`,
    xml`<d:Hello>${endpointXml(identity, true)}</d:Hello>`,
  );
}

export function byeXml(identity: DiscoveryIdentity, messageId: string, sequence: AppSequence): string {
  return discoveryEnvelope(
    xml`<a:MessageID>${messageId}</a:MessageID><a:To>${TO_DISCOVERY}</a:To><a:Action>${ACTIONS.bye}</a:Action>${appSequenceXml(sequence)}`,
    xml`<d:Bye>${endpointXml(identity, false)}</d:Bye>`,
  );
}
