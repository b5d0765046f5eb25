/**
 * WS-Security UsernameToken with PasswordDigest, as ONVIF clients send it: digest = base64(sha1(nonce + created +
 * password)). A token is refused when its Created is outside the allowed clock skew or it was seen before (a
 * replay). A replay is the same nonce with the same Created: the digest binds both, so a captured token cannot be
 * moved to a new Created without the password — and libonvif (onvif-util) sends one nonce per session with a fresh
 * Created on every request. Time comes from the injected Clock.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock/clock.js';
import { attributeOf, child, SoapFault, textOf, type XmlNode } from './soap.js';

export interface OnvifCredentials {
  username: string;
  password: string;
}

export interface UsernameToken {
  username: string;
  /** Base64 of the SHA-1 digest. */
  digest: string;
  /** Base64 of the nonce's bytes. */
  nonce: string;
  created: string;
}

const PASSWORD_DIGEST_TYPE = '#PasswordDigest';

/** Created may be this far from the device's clock, either way (clients take the device's time first). */
export const DEFAULT_MAX_SKEW_MS = 5 * 60_000;

/** Tokens remembered at most; a flood of fresh ones evicts the oldest, whose Created expires them anyway. */
const MAX_REMEMBERED_NONCES = 10_000;

export function notAuthorized(reason: string): SoapFault {
  return new SoapFault('Sender', 'ter:NotAuthorized', `sender not authorized: ${reason}`);
}

/** The UsernameToken in a SOAP header, or undefined when the header has none. Throws for a malformed one. */
export function usernameTokenOf(header: XmlNode | undefined): UsernameToken | undefined {
  const token = child(child(header, 'Security'), 'UsernameToken');
  if (token === undefined) return undefined;
  const password = child(token, 'Password');
  const type = attributeOf(password, 'Type');
  const fields = {
    username: textOf(child(token, 'Username')),
    digest: textOf(password),
    nonce: textOf(child(token, 'Nonce')),
    created: textOf(child(token, 'Created')),
  };
  if (type !== undefined && !type.endsWith(PASSWORD_DIGEST_TYPE))
    throw notAuthorized('only PasswordDigest UsernameTokens are accepted');
  if (!fields.username || !fields.digest || !fields.nonce || !fields.created)
    throw notAuthorized('the UsernameToken needs Username, Password (digest), Nonce and Created');
  return fields as UsernameToken;
}

export function passwordDigest(nonce: Buffer, created: string, password: string): string {
  return createHash('sha1')
    .update(Buffer.concat([nonce, Buffer.from(created, 'utf8'), Buffer.from(password, 'utf8')]))
    .digest('base64');
}

export class UsernameTokenVerifier {
  /** Nonce and Created → when it stops mattering (its Created leaves the window). */
  private readonly seen = new Map<string, number>();
  private readonly maxSkewMs: number;

  constructor(
    private readonly credentials: OnvifCredentials,
    private readonly clock: Clock,
    options: { maxSkewMs?: number } = {},
  ) {
    this.maxSkewMs = options.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  }

  /** Throws ter:NotAuthorized unless `token` proves the password, is fresh and is not a replay. */
  verify(token: UsernameToken | undefined): void {
    if (!token) throw notAuthorized('this operation needs a WS-Security UsernameToken');
    const now = this.clock.now();
    const createdMs = Date.parse(token.created);
    if (!Number.isFinite(createdMs)) throw notAuthorized(`Created "${token.created}" is not a time`);
    if (Math.abs(now - createdMs) > this.maxSkewMs)
      throw notAuthorized(
        `Created ${token.created} is more than ${this.maxSkewMs / 1000} s from the device clock`,
      );
    const nonce = Buffer.from(token.nonce, 'base64');
    if (nonce.length < 8 || nonce.length > 64) throw notAuthorized('the Nonce must be 8 to 64 bytes');
    const expected = Buffer.from(passwordDigest(nonce, token.created, this.credentials.password), 'base64');
    const presented = Buffer.from(token.digest, 'base64');
    const digestOk = presented.length === expected.length && timingSafeEqual(presented, expected);
    const userOk = timingSafeEqual(sha256(token.username), sha256(this.credentials.username));
    if (!(digestOk && userOk)) throw notAuthorized('wrong user name or password');
    this.forgetOld(now);
    const key = `${nonce.toString('base64')} ${token.created}`;
    if (this.seen.has(key)) throw notAuthorized('this Nonce and Created were used before (a replay)');
    this.seen.set(key, createdMs + this.maxSkewMs);
    if (this.seen.size > MAX_REMEMBERED_NONCES) this.seen.delete(this.seen.keys().next().value!);
  }

  private forgetOld(now: number): void {
    for (const [nonce, until] of this.seen) {
      if (until >= now) continue;
      this.seen.delete(nonce);
    }
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
