/**
 * SOAP 1.2 envelopes for the ONVIF services: parsing requests with fast-xml-parser (never by hand), refusing what a
 * SOAP message may not contain before the parser sees it, and building responses from templates that escape every
 * value. Pure: no I/O.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The largest request envelope taken; ONVIF requests are a few KiB, so anything near this is not one. */
export const MAX_ENVELOPE_BYTES = 64 * 1024;

/** Elements nested deeper than this are not ONVIF requests (and nesting costs the parser). */
const MAX_DEPTH = 32;

export const NS = {
  soap: 'http://www.w3.org/2003/05/soap-envelope',
  xsd: 'http://www.w3.org/2001/XMLSchema',
  addressing: 'http://www.w3.org/2005/08/addressing',
  schema: 'http://www.onvif.org/ver10/schema',
  device: 'http://www.onvif.org/ver10/device/wsdl',
  media: 'http://www.onvif.org/ver10/media/wsdl',
  events: 'http://www.onvif.org/ver10/events/wsdl',
  error: 'http://www.onvif.org/ver10/error',
  topics: 'http://www.onvif.org/ver10/topics',
  notification: 'http://docs.oasis-open.org/wsn/b-2',
  topicsBase: 'http://docs.oasis-open.org/wsn/t-1',
} as const;

/** A SOAP fault: `code` is who is to blame, `subcode` the ONVIF reason (ter:NotAuthorized, ter:InvalidArgVal…). */
export class SoapFault extends Error {
  constructor(
    readonly code: 'Sender' | 'Receiver',
    readonly subcode: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'SoapFault';
  }

  /** A sender's fault is a bad request; the receiver's is ours. */
  get httpStatus(): number {
    return this.code === 'Sender' ? 400 : 500;
  }
}

export function senderFault(subcode: string, reason: string): SoapFault {
  return new SoapFault('Sender', subcode, reason);
}

/** A parsed element: text, attributes as `@_name`, children by local name (repeated ones as arrays). */
export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] | undefined };

export interface SoapRequest {
  /** The local name of the body's first element: the operation (GetProfiles, PullMessages…). */
  action: string;
  /** That element. */
  body: XmlNode;
  header: XmlNode | undefined;
}

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_DEPTH,
  // Belt and braces: a DOCTYPE never reaches the parser (see below), and if one did it could define no entities.
  processEntities: { enabled: true, maxEntityCount: 0, maxTotalExpansions: 100, maxExpandedLength: 10_000 },
});

/**
 * Reads a request envelope. Throws a SoapFault for anything that is not one: too big, not well-formed XML, a
 * document type declaration (SOAP 1.2 forbids them, and they carry entity-expansion bombs), no Body.
 */
export function parseEnvelope(xml: string): SoapRequest {
  if (Buffer.byteLength(xml) > MAX_ENVELOPE_BYTES)
    throw senderFault('ter:InvalidArgVal', `the envelope is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  if (/<!DOCTYPE/i.test(xml) || /<!ENTITY/i.test(xml))
    throw senderFault('ter:InvalidArgVal', 'a SOAP message must not contain a document type declaration');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw senderFault('ter:WellFormed', `not well-formed XML: ${valid.err.msg}`);
  let document: unknown;
  try {
    document = parser.parse(xml);
  } catch (error) {
    throw senderFault('ter:WellFormed', `not well-formed XML: ${(error as Error).message}`);
  }
  assertOneRoot(document as Record<string, unknown>);
  const envelope = child(document as XmlNode, 'Envelope');
  const body = child(envelope, 'Body');
  if (envelope === undefined || body === undefined || typeof body === 'string')
    throw senderFault('ter:InvalidArgVal', 'not a SOAP envelope: no Envelope/Body');
  const action = Object.keys(body).find((key) => !key.startsWith('@_') && key !== '#text');
  if (!action) throw senderFault('ter:InvalidArgVal', 'the SOAP Body is empty');
  return { action, body: firstOf(body[action]) ?? '', header: child(envelope, 'Header') };
}

/**
 * XMLValidator lets an empty element (`<x/>`) follow the root, and the parser then returns it beside the envelope
 * (as another key, or with the envelope in an array when both share a local name), so a second root is caught here.
 */
function assertOneRoot(document: Record<string, unknown>): void {
  const roots = Object.keys(document);
  if (roots.length > 1 || (roots.length === 1 && Array.isArray(document[roots[0]!])))
    throw senderFault('ter:WellFormed', 'not well-formed XML: more than one root element');
}

function firstOf(value: XmlNode | XmlNode[] | undefined): XmlNode | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The first child element `name` (by local name), if `node` is an element that has one. */
export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  return firstOf(node[name]);
}

/** Every child element `name`. */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  if (node === undefined || typeof node === 'string') return [];
  const value = node[name];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** An element's text (its `#text` when it also has attributes), or undefined when it is missing. */
export function textOf(node: XmlNode | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return node;
  const text = node['#text'];
  return typeof text === 'string' ? text : '';
}

export function attributeOf(node: XmlNode | undefined, name: string): string | undefined {
  if (node === undefined || typeof node === 'string') return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** The text of the element at `path` below `node`. */
export function textAt(node: XmlNode | undefined, ...path: string[]): string | undefined {
  let at = node;
  for (const name of path) at = child(at, name);
  return textOf(at);
}

/** XML markup built by the `xml` template: interpolating it into another template does not escape it again. */
export class Xml {
  constructor(readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

export type XmlValue = Xml | string | number | boolean | readonly Xml[] | undefined;

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** Text or an attribute value as XML: markup characters escaped, characters XML 1.0 cannot carry dropped. */
export function escapeXml(value: string | number | boolean): string {
  return String(value)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (char) => ESCAPES[char]!);
}

/** A template for markup: every interpolated value is escaped unless it is markup (Xml) itself; undefined is empty. */
export function xml(strings: TemplateStringsArray, ...values: XmlValue[]): Xml {
  let markup = strings[0]!;
  values.forEach((value, i) => {
    markup += markupOf(value) + strings[i + 1]!;
  });
  return new Xml(markup);
}

function markupOf(value: XmlValue): string {
  if (value === undefined) return '';
  if (value instanceof Xml) return value.markup;
  if (Array.isArray(value)) return value.map((part) => part.markup).join('');
  return escapeXml(value as string | number | boolean);
}

/** The namespace prefixes every response may use. */
const ENVELOPE_NAMESPACES = xml`xmlns:s="${NS.soap}" xmlns:xs="${NS.xsd}" xmlns:a="${NS.addressing}" xmlns:tt="${NS.schema}" xmlns:tds="${NS.device}" xmlns:trt="${NS.media}" xmlns:tev="${NS.events}" xmlns:wsnt="${NS.notification}" xmlns:wstop="${NS.topicsBase}" xmlns:tns1="${NS.topics}" xmlns:ter="${NS.error}"`;

export function soapEnvelope(body: Xml, header?: Xml): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${
    xml`<s:Envelope ${ENVELOPE_NAMESPACES}>${header ? xml`<s:Header>${header}</s:Header>` : undefined}<s:Body>${body}</s:Body></s:Envelope>`
      .markup
  }`;
}

export function faultEnvelope(fault: SoapFault): string {
  return soapEnvelope(
    xml`<s:Fault><s:Code><s:Value>s:${fault.code}</s:Value><s:Subcode><s:Value>${fault.subcode}</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">${fault.message}</s:Text></s:Reason></s:Fault>`,
  );
}
