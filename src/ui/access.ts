import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { isWildcardHost } from '../util/host.js';

/** Tokens travel in URLs (`?token=`), so they are limited to URL-safe characters. */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~-]{16,256}$/;

/** A fresh random console token (URL-safe, 32 characters). */
export function generateConsoleToken(): string {
  return randomBytes(24).toString('base64url');
}

/** True for names and addresses that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare) ||
    /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
  );
}

/** `host:port` as it appears in a URL (IPv6 in brackets). */
export function hostForUrl(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A wildcard bind address is no address to hand to a client on another machine: the machine's name is. */
export function reachableHost(host: string): string {
  return isWildcardHost(host) ? hostname() : host;
}

/** `origin` (http://HOST:PORT) as published to others (state, discovery, share links): a wildcard host named. */
export function reachableOrigin(origin: string): string {
  const url = new URL(origin);
  const host = reachableHost(url.hostname);
  if (host === url.hostname) return origin.replace(/\/$/, '');
  return `${url.protocol}//${hostForUrl(host, Number(url.port || (url.protocol === 'https:' ? 443 : 80)))}`;
}

/**
 * Host header values a loopback-bound console answers to. Anything else is refused, which stops
 * DNS-rebinding pages (evil.example resolving to 127.0.0.1) from driving the console.
 */
export function loopbackHostHeaders(boundHost: string, port: number): Set<string> {
  return new Set(
    ['127.0.0.1', 'localhost', '[::1]', boundHost].map((name) => hostForUrl(name, port).toLowerCase()),
  );
}

export type PresentedToken = { token: string; via: 'query' | 'cookie' | 'bearer' | 'basic' } | undefined;

/**
 * The token a request carries, looking at the Authorization header (Bearer, or Basic with the token as the password
 * and any user name, for camera clients), then the query, then the cookie.
 */
export function presentedToken(req: IncomingMessage, url: URL, cookieName: string): PresentedToken {
  const authorization = req.headers.authorization;
  if (authorization) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (bearer?.[1]) return { token: bearer[1], via: 'bearer' };
    const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
    const password = basic?.[1]
      ? Buffer.from(basic[1], 'base64').toString('utf8').split(':').slice(1).join(':')
      : '';
    if (password) return { token: password, via: 'basic' };
  }
  const query = url.searchParams.get('token');
  if (query) return { token: query, via: 'query' };
  const cookie = readCookie(req.headers.cookie, cookieName);
  if (cookie) return { token: cookie, via: 'cookie' };
  return undefined;
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Constant-time comparison (hashing first so lengths do not leak either). */
export function tokensMatch(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The session cookie set after a valid `?token=`; cookies ignore ports, so the name carries it. */
export function sessionCookie(name: string, token: string): string {
  return `${name}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

export function cookieNameFor(port: number): string {
  return `doorbell_console_${port}`;
}
