import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { captureIo } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/mqtt.js';

/** Each: the flags, the environment, and what the one-line refusal must say. */
const REFUSALS: Array<[string, string[], NodeJS.ProcessEnv, string]> = [
  ['an --onvif-* flag without --onvif', ['--onvif-port', '8000'], {}, '--onvif-port needs --onvif'],
  [
    'a network host without credentials',
    ['--onvif', '--onvif-host', '0.0.0.0'],
    {},
    '--onvif-credentials USER:PASS',
  ],
  [
    'a network host without credentials, from the environment',
    [],
    { DOORBELL_ONVIF: '1', DOORBELL_ONVIF_HOST: '192.168.1.5' },
    '--onvif-host "192.168.1.5" is reachable from other machines',
  ],
  [
    'malformed credentials',
    ['--onvif', '--onvif-credentials', 'admin'],
    {},
    '--onvif-credentials must be USER:PASS',
  ],
  [
    'a port out of range',
    ['--onvif', '--onvif-discovery-port', '70000'],
    {},
    '--onvif-discovery-port "70000" is not a port number',
  ],
  [
    'loopback RTSP URIs handed out to the network',
    ['--onvif', '--onvif-host', '0.0.0.0', '--onvif-credentials', 'nvr:secret', '--rtsp-port', '0'],
    {},
    'give --rtsp-host too',
  ],
];

describe('doorbell start: ONVIF flags', () => {
  it.each(REFUSALS)('refuses %s with exit 2, naming the flag', async (_what, args, env, message) => {
    const io = captureIo({ cwd: REPO_ROOT, env });
    const code = await runCli(['start', '--video', 'none', ...args], io);
    expect(code).toBe(2);
    expect(io.err()).toContain(message);
  });
});
