import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  generateConsoleToken,
  hostForUrl,
  isLoopbackHost,
  loopbackHostHeaders,
  reachableOrigin,
  readCookie,
  TOKEN_PATTERN,
  tokensMatch,
} from '../../src/ui/access.js';

describe('console access helpers', () => {
  it('knows which hosts only this machine can reach', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      'LOCALHOST',
      '::1',
      '[::1]',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      '0.0.0.0',
      '::',
      '192.168.1.10',
      'doorbell.local',
      '128.0.0.1',
      '127.0.0.1.evil.example',
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('builds URL hosts and the allowed Host headers', () => {
    expect(hostForUrl('::1', 8080)).toBe('[::1]:8080');
    expect(hostForUrl('127.0.0.1', 8080)).toBe('127.0.0.1:8080');
    expect([...loopbackHostHeaders('127.0.0.1', 9000)].sort()).toEqual([
      '127.0.0.1:9000',
      '[::1]:9000',
      'localhost:9000',
    ]);
  });

  it('reads cookies and compares tokens', () => {
    expect(readCookie('a=1; doorbell_console_80=abc; b=2', 'doorbell_console_80')).toBe('abc');
    expect(readCookie('doorbell_console_8080=abc', 'doorbell_console_80')).toBeUndefined();
    expect(tokensMatch('same-token-same-token', 'same-token-same-token')).toBe(true);
    expect(tokensMatch('same-token-same-token', 'same-token-same-tokem')).toBe(false);
    expect(tokensMatch('', 'x')).toBe(false);
  });

  it('generates tokens the server accepts, never the same twice', () => {
    const a = generateConsoleToken();
    expect(a).toMatch(TOKEN_PATTERN);
    expect(generateConsoleToken()).not.toBe(a);
  });

  it('publishes a wildcard-bound origin under the machine name, and leaves others alone', () => {
    expect(reachableOrigin('http://0.0.0.0:8080/')).toBe(`http://${hostname()}:8080`);
    expect(reachableOrigin('http://[::]:8080/')).toBe(`http://${hostname()}:8080`);
    expect(reachableOrigin('http://192.168.1.50:8080/')).toBe('http://192.168.1.50:8080');
    expect(reachableOrigin('http://[::1]:8080')).toBe('http://[::1]:8080');
  });
});
