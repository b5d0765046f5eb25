import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/clock/virtual-clock.js';
import { parseEnvelope, SoapFault } from '../../src/onvif/soap.js';
import {
  DEFAULT_MAX_SKEW_MS,
  passwordDigest,
  type UsernameToken,
  UsernameTokenVerifier,
  usernameTokenOf,
} from '../../src/onvif/ws-security.js';

const CREDENTIALS = { username: 'nvr', password: 'secret' };

function tokenAt(
  clock: VirtualClock,
  overrides: Partial<UsernameToken> & { password?: string } = {},
): UsernameToken {
  const nonce = randomBytes(16);
  const created = overrides.created ?? new Date(clock.now()).toISOString();
  return {
    username: CREDENTIALS.username,
    nonce: nonce.toString('base64'),
    created,
    digest: passwordDigest(nonce, created, overrides.password ?? CREDENTIALS.password),
    ...overrides,
  };
}

function refusal(run: () => void): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SoapFault);
    expect((error as SoapFault).subcode).toBe('ter:NotAuthorized');
    return (error as SoapFault).message;
  }
  throw new Error('accepted');
}

describe('WS-UsernameToken PasswordDigest', () => {
  it("the digest is base64(sha1(nonce + created + password)): the ONVIF Application Programmer's Guide example", () => {
    const nonce = Buffer.from('LKqI6G/AikKCQrN0zqZFlg==', 'base64');
    expect(passwordDigest(nonce, '2010-09-16T07:50:45Z', 'userpassword')).toBe(
      'tuOSpGlFlIXsozq4HFNeeGeFLEI=',
    );
  });

  it('accepts the right credentials once, and refuses the same token again', () => {
    const clock = new VirtualClock();
    const verifier = new UsernameTokenVerifier(CREDENTIALS, clock);
    const token = tokenAt(clock);
    expect(() => verifier.verify(token)).not.toThrow();
    expect(refusal(() => verifier.verify(token))).toMatch(/replay/);
  });

  it('accepts a nonce reused with a new Created (libonvif does), whose digest only the password makes', () => {
    const clock = new VirtualClock();
    const verifier = new UsernameTokenVerifier(CREDENTIALS, clock);
    const nonce = randomBytes(16);
    const at = (created: string, password = CREDENTIALS.password): UsernameToken => ({
      username: CREDENTIALS.username,
      nonce: nonce.toString('base64'),
      created,
      digest: passwordDigest(nonce, created, password),
    });
    verifier.verify(at('2026-01-01T00:00:00.001Z'));
    verifier.verify(at('2026-01-01T00:00:00.002Z'));
    // A captured token moved to a new Created keeps its old digest: refused.
    const moved = { ...at('2026-01-01T00:00:00.001Z'), created: '2026-01-01T00:00:00.003Z' };
    expect(refusal(() => verifier.verify(moved))).toMatch(/wrong user name or password/);
  });

  it('refuses a wrong password, a wrong user name and no token at all', () => {
    const clock = new VirtualClock();
    const verifier = new UsernameTokenVerifier(CREDENTIALS, clock);
    expect(refusal(() => verifier.verify(tokenAt(clock, { password: 'guess' })))).toMatch(
      /wrong user name or password/,
    );
    expect(refusal(() => verifier.verify(tokenAt(clock, { username: 'admin' })))).toMatch(
      /wrong user name or password/,
    );
    expect(refusal(() => verifier.verify(undefined))).toMatch(/needs a WS-Security UsernameToken/);
  });

  it('refuses a Created outside the allowed skew, either way, and one that is no time', () => {
    const clock = new VirtualClock();
    const verifier = new UsernameTokenVerifier(CREDENTIALS, clock);
    const at = (offsetMs: number) => new Date(clock.now() + offsetMs).toISOString();
    expect(
      refusal(() => verifier.verify(tokenAt(clock, { created: at(-DEFAULT_MAX_SKEW_MS - 1000) }))),
    ).toMatch(/from the device clock/);
    expect(
      refusal(() => verifier.verify(tokenAt(clock, { created: at(DEFAULT_MAX_SKEW_MS + 1000) }))),
    ).toMatch(/from the device clock/);
    expect(() => verifier.verify(tokenAt(clock, { created: at(-DEFAULT_MAX_SKEW_MS + 1000) }))).not.toThrow();
    expect(refusal(() => verifier.verify(tokenAt(clock, { created: 'yesterday' })))).toMatch(/is not a time/);
  });

  it('a replayed token stays refused after its nonce is forgotten, because by then Created is stale', () => {
    const clock = new VirtualClock();
    const verifier = new UsernameTokenVerifier(CREDENTIALS, clock);
    const token = tokenAt(clock);
    verifier.verify(token);
    clock.advance(DEFAULT_MAX_SKEW_MS + 1);
    verifier.verify(tokenAt(clock));
    expect(refusal(() => verifier.verify(token))).toMatch(/from the device clock/);
  });

  it('reads the token from a SOAP header, and refuses PasswordText and missing parts', () => {
    const header = (
      password: string,
      extra = '<Nonce>bm9uY2Vub25jZQ==</Nonce><Created>2026-01-01T00:00:00Z</Created>',
    ) =>
      parseEnvelope(
        `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header><Security xmlns="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><UsernameToken><Username>nvr</Username>${password}${extra}</UsernameToken></Security></s:Header><s:Body><GetProfiles/></s:Body></s:Envelope>`,
      ).header;
    expect(
      usernameTokenOf(
        header(
          '<Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">ZGlnZXN0</Password>',
        ),
      ),
    ).toEqual({
      username: 'nvr',
      digest: 'ZGlnZXN0',
      nonce: 'bm9uY2Vub25jZQ==',
      created: '2026-01-01T00:00:00Z',
    });
    expect(
      refusal(() => usernameTokenOf(header('<Password Type="x#PasswordText">secret</Password>'))),
    ).toMatch(/only PasswordDigest/);
    expect(refusal(() => usernameTokenOf(header('<Password>ZGlnZXN0</Password>', '')))).toMatch(
      /needs Username/,
    );
  });
});
