/**
 * HTTP Digest authentication (RFC 2617, MD5) as RTSP clients speak it: the server names a realm and a nonce in a 401,
 * the client answers with MD5(HA1:nonce:HA2) (or the qop=auth form). The comparison runs in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface DigestCredentials {
  username: string;
  password: string;
}

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** The WWW-Authenticate header value of a 401. */
export function digestChallenge(realm: string, nonce: string): string {
  return `Digest realm="${realm}", nonce="${nonce}", algorithm="MD5"`;
}

/** The name="value" (or name=token) pairs of an Authorization: Digest header, or undefined for another scheme. */
export function parseDigestAuthorization(header: string): Map<string, string> | undefined {
  const match = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!match) return undefined;
  const params = new Map<string, string>();
  const pair = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/g;
  for (let found = pair.exec(match[1]!); found; found = pair.exec(match[1]!)) {
    params.set(
      found[1]!.toLowerCase(),
      found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : found[3]!,
    );
  }
  return params;
}

export interface DigestCheck {
  method: string;
  /** The request line's URI: the header's `uri` must name it (a header sniffed for one path opens no other). */
  requestUri: string;
  authorization: string | undefined;
  realm: string;
  /** The nonce this connection issued (a header sniffed on another connection carries another). */
  nonce: string;
  credentials: DigestCredentials;
}

/**
 * Whether the Authorization header proves the credentials for this method, this request URI and this connection's
 * nonce. Without qop's counters a header can be replayed on its own connection only, for its own URI: as RTSP
 * servers do (live555), the nonce is per connection.
 */
export function digestAuthorized(check: DigestCheck): boolean {
  if (check.authorization === undefined) return false;
  const params = parseDigestAuthorization(check.authorization);
  if (!params) return false;
  const uri = params.get('uri') ?? '';
  const ha1 = md5Hex(`${check.credentials.username}:${check.realm}:${check.credentials.password}`);
  const ha2 = md5Hex(`${check.method}:${uri}`);
  const qop = params.get('qop');
  const expected =
    qop === 'auth'
      ? md5Hex(`${ha1}:${check.nonce}:${params.get('nc') ?? ''}:${params.get('cnonce') ?? ''}:auth:${ha2}`)
      : md5Hex(`${ha1}:${check.nonce}:${ha2}`);
  // Every part is compared, always, so the time taken says nothing about which part was wrong.
  const userOk = sameInConstantTime(params.get('username') ?? '', check.credentials.username);
  const nonceOk = sameInConstantTime(params.get('nonce') ?? '', check.nonce);
  const uriOk = sameInConstantTime(uri, check.requestUri);
  const responseOk = sameInConstantTime((params.get('response') ?? '').toLowerCase(), expected);
  return userOk && nonceOk && uriOk && responseOk;
}

function sameInConstantTime(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
