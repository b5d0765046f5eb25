import { describe, expect, it } from 'vitest';
import { byeXml, helloXml, probeMatches, probeMatchXml, probeOf } from '../../src/onvif/discovery.js';
import { endpointReferenceOf, macAddressOf, scopesOf } from '../../src/onvif/identity.js';
import { parseEnvelope, textAt } from '../../src/onvif/soap.js';

const DEVICE = {
  deviceId: 'front-door',
  manufacturer: 'Acme & Sons',
  model: 'Ding <1>',
  firmwareVersion: '1.0.0',
};

function probe(types: string, scopes = '') {
  return `<?xml version="1.0"?><Envelope xmlns="http://www.w3.org/2003/05/soap-envelope" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><Header><wsa:MessageID xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing">urn:uuid:1234</wsa:MessageID></Header><Body><Probe xmlns="http://schemas.xmlsoap.org/ws/2005/04/discovery"><Types>${types}</Types><Scopes>${scopes}</Scopes></Probe></Body></Envelope>`;
}

const identity = {
  endpoint: endpointReferenceOf(DEVICE.deviceId),
  scopes: scopesOf(DEVICE),
  xaddrs: 'http://192.0.2.7:8000/onvif/device_service',
};

describe('WS-Discovery messages', () => {
  it('reads a Probe and matches it by type and scope', () => {
    const parsed = probeOf(probe('dn:NetworkVideoTransmitter'))!;
    expect(parsed).toEqual({ messageId: 'urn:uuid:1234', types: ['NetworkVideoTransmitter'], scopes: [] });
    expect(probeMatches(parsed, identity)).toBe(true);
    expect(probeMatches(probeOf(probe(''))!, identity)).toBe(true);
    expect(probeMatches(probeOf(probe('tds:Device', 'onvif://www.onvif.org/Profile'))!, identity)).toBe(true);
    expect(probeMatches(probeOf(probe('dn:Printer'))!, identity)).toBe(false);
    expect(probeMatches(probeOf(probe('', 'onvif://www.onvif.org/Profile/G'))!, identity)).toBe(false);
    expect(probeMatches(probeOf(probe('', 'onvif://www.onvif.org/Prof'))!, identity)).toBe(false);
  });

  it('ignores other messages and refuses what is not SOAP', () => {
    expect(probeOf(helloXml(identity, 'urn:uuid:1', { instanceId: 1, messageNumber: 1 }))).toBeUndefined();
    expect(() => probeOf('<<<')).toThrow(/well-formed/);
  });

  it('answers with a ProbeMatch relating to the probe, carrying the endpoint, escaped scopes and XAddrs', () => {
    const reply = parseEnvelope(
      probeMatchXml(probeOf(probe(''))!, identity, 'urn:uuid:reply', { instanceId: 7, messageNumber: 3 }),
    );
    expect(reply.action).toBe('ProbeMatches');
    expect(textAt(reply.header, 'RelatesTo')).toBe('urn:uuid:1234');
    expect(textAt(reply.body, 'ProbeMatch', 'EndpointReference', 'Address')).toBe(identity.endpoint);
    expect(textAt(reply.body, 'ProbeMatch', 'XAddrs')).toBe(identity.xaddrs);
    expect(textAt(reply.body, 'ProbeMatch', 'Scopes')!.split(' ')).toContain(
      'onvif://www.onvif.org/name/Acme%20%26%20Sons%20Ding%20%3C1%3E',
    );
  });

  it('Hello carries the XAddrs, Bye only the endpoint', () => {
    const sequence = { instanceId: 1, messageNumber: 2 };
    const hello = parseEnvelope(helloXml(identity, 'urn:uuid:h', sequence));
    const bye = parseEnvelope(byeXml(identity, 'urn:uuid:b', sequence));
    expect([hello.action, bye.action]).toEqual(['Hello', 'Bye']);
    expect(textAt(hello.body, 'XAddrs')).toBe(identity.xaddrs);
    expect(textAt(bye.body, 'EndpointReference', 'Address')).toBe(identity.endpoint);
    expect(textAt(bye.body, 'XAddrs')).toBeUndefined();
  });

  it('names a device the same way every time: endpoint UUID and MAC from its id', () => {
    expect(endpointReferenceOf('front-door')).toBe(endpointReferenceOf('front-door'));
    expect(endpointReferenceOf('front-door')).not.toBe(endpointReferenceOf('back-door'));
    expect(endpointReferenceOf('front-door')).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // Locally administered, unicast.
    expect(macAddressOf('front-door')).toMatch(/^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/);
  });
});
