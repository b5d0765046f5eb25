import { describe, expect, it } from 'vitest';
import {
  escapeXml,
  faultEnvelope,
  MAX_ENVELOPE_BYTES,
  parseEnvelope,
  SoapFault,
  senderFault,
  textAt,
  xml,
} from '../../src/onvif/soap.js';

const ENVELOPE = (body: string) =>
  `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>${body}</s:Body></s:Envelope>`;

function fault(run: () => unknown): SoapFault {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SoapFault);
    return error as SoapFault;
  }
  throw new Error('no fault');
}

describe('SOAP envelopes', () => {
  it('reads the operation and its arguments by local name, entities of XML itself decoded', () => {
    const request = parseEnvelope(
      ENVELOPE(
        '<trt:GetStreamUri xmlns:trt="http://www.onvif.org/ver10/media/wsdl"><trt:ProfileToken>a&amp;b</trt:ProfileToken></trt:GetStreamUri>',
      ),
    );
    expect(request.action).toBe('GetStreamUri');
    expect(textAt(request.body, 'ProfileToken')).toBe('a&b');
  });

  it.each([
    ['not XML', 'hello', 'ter:WellFormed'],
    ['unclosed tags', '<s:Envelope><s:Body><GetProfiles></s:Body>', 'ter:WellFormed'],
    ['no Body', '<s:Envelope xmlns:s="x"><s:Header/></s:Envelope>', 'ter:InvalidArgVal'],
    ['an empty Body', ENVELOPE(''), 'ter:InvalidArgVal'],
    ['a second root element after the envelope', `${ENVELOPE('<GetProfiles/>')}<x/>`, 'ter:WellFormed'],
    ['a second envelope', `${ENVELOPE('<GetProfiles/>')}<s:Envelope/>`, 'ter:WellFormed'],
    ['text after the envelope', `${ENVELOPE('<GetProfiles/>')}junk`, 'ter:WellFormed'],
    ['too deep', ENVELOPE(`${'<a>'.repeat(100)}${'</a>'.repeat(100)}`), 'ter:WellFormed'],
  ])('refuses %s as the sender’s fault', (_name, text, subcode) => {
    const refused = fault(() => parseEnvelope(text));
    expect(refused.code).toBe('Sender');
    expect(refused.subcode).toBe(subcode);
  });

  it('refuses a document type declaration before parsing: no billion laughs, no external entities', () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`,
    ).join('')}]>${ENVELOPE('<GetProfiles>&lol9;</GetProfiles>')}`;
    expect(fault(() => parseEnvelope(laughs)).message).toMatch(/document type declaration/);
    const external = `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${ENVELOPE('<GetProfiles>&xxe;</GetProfiles>')}`;
    expect(fault(() => parseEnvelope(external)).message).toMatch(/document type declaration/);
  });

  it('refuses an envelope over the size cap', () => {
    const big = ENVELOPE(`<GetProfiles>${'x'.repeat(MAX_ENVELOPE_BYTES)}</GetProfiles>`);
    expect(fault(() => parseEnvelope(big)).message).toMatch(/larger than/);
  });

  it('escapes every interpolated value, and markup built by the template only once', () => {
    const name = 'Tom & "Jerry" <script>';
    const inner = xml`<tt:Name>${name}</tt:Name>`;
    expect(xml`<a title="${name}">${inner}${[inner, inner]}${undefined}</a>`.markup).toBe(
      `<a title="Tom &amp; &quot;Jerry&quot; &lt;script&gt;">${'<tt:Name>Tom &amp; &quot;Jerry&quot; &lt;script&gt;</tt:Name>'.repeat(3)}</a>`,
    );
    expect(escapeXml('bell\u0007')).toBe('bell');
  });

  it('a fault parses back with its code, subcode and reason', () => {
    const text = faultEnvelope(senderFault('ter:NotAuthorized', 'who are <you>?'));
    const parsed = parseEnvelope(text);
    expect(parsed.action).toBe('Fault');
    expect(textAt(parsed.body, 'Code', 'Value')).toBe('s:Sender');
    expect(textAt(parsed.body, 'Code', 'Subcode', 'Value')).toBe('ter:NotAuthorized');
    expect(textAt(parsed.body, 'Reason', 'Text')).toBe('who are <you>?');
  });
});
